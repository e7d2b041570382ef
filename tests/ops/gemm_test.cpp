// GEMM (Y = X . W^T) against a double-accumulating C++ reference, for W in f32, f16 and bf16,
// on shapes that are not multiples of any tile, strided and misaligned views, and W larger
// than one binding (chunked over rows).
#include <cstdlib>
#include <string>
#include <tuple>

#include "engine/ops/gemm.h"
#include "engine/vk/error.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Shape {
  uint32_t n, m, k;
};

std::string name_of(ops::DType type) {
  return std::string(ops::dtype_name(type));
}

class GemmTest : public GpuTest {
 protected:
  // Runs one dense GEMM of the given shape and returns {nmse vs stored weights, nmse vs the
  // unrounded weights}. Checks the guard words around Y.
  std::pair<double, double> run(Shape s, ops::DType type, std::optional<ops::GemmTiles> tiles,
                                uint32_t seed) {
    const std::vector<float> x = random_floats(size_t{s.n} * s.k, seed);
    const std::vector<float> w_original = random_floats(size_t{s.m} * s.k, seed + 1);
    const StoredWeights w = store_weights(w_original, type);
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    gx.write(stream(), x);
    vk::Buffer gw = upload(w.bytes, "w");
    GuardedBuffer gy(context(), stream(), size_t{s.n} * s.m, "y");
    ops::GemmArgs args{.x = gx.span(),
                       .w = gw.span(),
                       .y = gy.span(),
                       .w_type = type,
                       .n = s.n,
                       .m = s.m,
                       .k = s.k,
                       // unset: the f32 kernels' default (the GPU default, cooperative
                       // matrices, rounds to f16 and has its own test, gemm_coopmat_test.cpp)
                       .tiles = tiles.value_or(ops::default_gemm_tiles(context().info()))};
    ops::gemm(stream(), args);
    const std::vector<float> y = gy.read(stream());
    return {nmse(y, reference_matmul(x, w.values, s.n, s.m, s.k)),
            nmse(y, reference_matmul(x, w_original, s.n, s.m, s.k))};
  }
};

class GemmShapes : public GemmTest,
                   public ::testing::WithParamInterface<std::tuple<ops::DType, Shape>> {};

TEST_P(GemmShapes, MatchesReference) {
  const auto [type, shape] = GetParam();
  const auto [stored, rounded] = run(shape, type, std::nullopt, shape.n * 7 + shape.k);
  EXPECT_LE(stored, kStoredWeightsNmse);
  EXPECT_LE(rounded, kRoundedWeightsNmse);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmShapes,
    ::testing::Combine(::testing::Values(ops::DType::f32, ops::DType::f16, ops::DType::bf16),
                       ::testing::Values(Shape{1, 1, 1}, Shape{1, 37, 53}, Shape{3, 5, 7},
                                         Shape{64, 64, 64}, Shape{33, 130, 257},
                                         Shape{100, 17, 300}, Shape{129, 67, 31},
                                         Shape{9, 72, 40})),  // 16-byte stores, part tile
    [](const auto& param_info) {
      const Shape s = std::get<1>(param_info.param);
      return name_of(std::get<0>(param_info.param)) + "_" + std::to_string(s.n) + "x" +
             std::to_string(s.m) + "x" + std::to_string(s.k);
    });

std::string tiles_text(const ops::GemmTiles& t) {
  return std::string(t.kernel == ops::GemmKernel::tiled ? "tiled " : "shuffle ") +
         std::to_string(t.wg_m) + "x" + std::to_string(t.wg_n) + " invocations of " +
         std::to_string(t.tn) + "x" + std::to_string(t.tm) + ", bk " + std::to_string(t.bk) +
         (t.x_texels ? "" : ", X from storage");
}

// Every kernel and tile configuration gives the reference answer: the portable baseline, the
// device's default, a deliberately odd tiled configuration (bk not dividing k, tm != tn),
// and the shuffle kernel where the device has subgroup shuffles. k = 96 takes the 16-byte
// load path of the shuffle kernel, k = 100 that path plus a scalar tail, k = 93 scalars only.
TEST_F(GemmTest, EveryKernelMatches) {
  std::vector<ops::GemmTiles> all = {ops::baseline_gemm_tiles(),
                                     ops::default_gemm_tiles(context().info()),
                                     {ops::GemmKernel::tiled, 8, 4, 3, 2, 5}};
  const vk::DeviceInfo& device = context().info();
  const uint32_t subgroup =
      device.min_subgroup_size ? device.min_subgroup_size : device.subgroup_size;
  if (device.subgroup_shuffle) {
    all.push_back({ops::GemmKernel::shuffle, subgroup, 1, 3, 2 * subgroup, 0});
    all.push_back({ops::GemmKernel::shuffle, subgroup, 1, 1, subgroup, 0});
  }
  // Each shuffle configuration also with X from storage buffers (by default the shuffle kernel
  // reads X as texels on CPU devices where the rows are whole texels: k = 96 and 100 here).
  for (size_t i = 0, count = all.size(); i < count; ++i) {
    if (all[i].kernel != ops::GemmKernel::shuffle) continue;
    all.push_back(all[i]);
    all.back().x_texels = false;
  }
  for (const ops::GemmTiles& tiles : all) {
    for (const Shape shape : {Shape{45, 70, 93}, Shape{45, 70, 96}, Shape{17, 33, 100}}) {
      for (ops::DType type : {ops::DType::f32, ops::DType::bf16}) {
        const auto [stored, rounded] = run(shape, type, tiles, 11);
        EXPECT_LE(stored, kStoredWeightsNmse)
            << tiles_text(tiles) << ", " << name_of(type) << " k " << shape.k;
      }
    }
  }
}

// X, W and Y as views into larger tensors: row strides wider than the rows and offsets that
// are not multiples of minStorageBufferOffsetAlignment.
TEST_F(GemmTest, StridedMisalignedViews) {
  for (ops::DType type : {ops::DType::f32, ops::DType::f16}) {
    const uint32_t n = 19, m = 23, k = 41;
    const uint32_t xs = 50, ws = 45, ys = 30;           // strides in elements
    const uint32_t x_skip = 3, w_skip = 1, y_skip = 5;  // leading elements before each view
    const std::vector<float> x_all = random_floats(x_skip + size_t{n} * xs, 21);
    const StoredWeights w_all = store_weights(random_floats(w_skip + size_t{m} * ws, 22), type);
    const uint32_t w_bytes = ops::dtype_block_bytes(type);

    GuardedBuffer gx(context(), stream(), x_all.size(), "x");
    gx.write(stream(), x_all);
    vk::Buffer gw = upload(w_all.bytes, "w");
    GuardedBuffer gy(context(), stream(), y_skip + size_t{n} * ys, "y");
    ops::GemmArgs args{.x = gx.span().sub(x_skip * 4, ((n - 1) * xs + k) * 4),
                       .w = gw.span().sub(w_skip * w_bytes, ((m - 1) * ws + k) * w_bytes),
                       .y = gy.span().sub(y_skip * 4, ((n - 1) * ys + m) * 4),
                       .w_type = type,
                       .n = n,
                       .m = m,
                       .k = k,
                       .x_stride = xs,
                       .w_stride = ws,
                       .y_stride = ys};
    ops::gemm(stream(), args);
    const std::vector<float> y_all = gy.read(stream());

    const std::vector<float> x = dense_rows(x_all, x_skip, n, k, xs);
    const std::vector<float> w = dense_rows(w_all.values, w_skip, m, k, ws);
    const std::vector<float> y = dense_rows(y_all, y_skip, n, m, ys);
    EXPECT_LE(nmse(y, reference_matmul(x, w, n, m, k)), kStoredWeightsNmse) << name_of(type);
    // Y words between the rows (stride padding) and before the view are left alone.
    for (uint32_t r = 0; r + 1 < n; ++r) {
      for (uint32_t c = m; c < ys; ++c) {
        EXPECT_EQ(std::bit_cast<uint32_t>(y_all[y_skip + r * ys + c]), GuardedBuffer::kSentinel);
      }
    }
    EXPECT_EQ(std::bit_cast<uint32_t>(y_all[0]), GuardedBuffer::kSentinel);
  }
}

TEST_F(GemmTest, RejectsSpansTooSmall) {
  vk::Buffer small = context().create_buffer(64, "small");
  ops::GemmArgs args{
      .x = small.span(), .w = small.span(), .y = small.span(), .n = 4, .m = 4, .k = 8};
  EXPECT_THROW(ops::gemm(stream(), args), Error);
}

// A W of 8448 x 4096 f32 (132 MiB) is larger than maxStorageBufferRange on lavapipe (128 MiB):
// the launcher must split it over rows.
TEST_F(GemmTest, WeightLargerThanOneBinding) {
  const Shape s{3, 8448, 4096};
  ASSERT_GT(uint64_t{s.m} * s.k * 4, context().max_binding_range())
      << "this device binds the whole weight; the test would not exercise splitting";
  const auto [stored, rounded] = run(s, ops::DType::f32, std::nullopt, 5);
  EXPECT_LE(stored, kStoredWeightsNmse);
}

// VKMOE_MAX_BINDING_RANGE shrinks the binding limit so X, W and Y are all split.
class GemmSmallBindingTest : public GemmTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    GemmTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(GemmSmallBindingTest, SplitsEveryOperand) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  for (ops::DType type : {ops::DType::f32, ops::DType::bf16}) {
    const uint64_t before = stream().dispatch_count();
    const auto [stored, rounded] = run({37, 53, 100}, type, std::nullopt, 9);
    EXPECT_LE(stored, kStoredWeightsNmse) << name_of(type);
    EXPECT_GT(stream().dispatch_count() - before, 4u) << "expected several chunked dispatches";
  }
}

}  // namespace
}  // namespace vkmoe::test
