// The cooperative-matrix GEMM (shaders/gemm_coopmat.comp) against two references: a double
// matmul of X and W rounded to f16 as the kernel stages them (only f32 accumulation may differ,
// so a misplaced element or a wrong layout shows at once), and the baseline tiled kernel in f32
// (the rounding may cost up to ~1e-6 NMSE). Every weight type, shapes that are not multiples of
// any tile, an odd tile configuration, and strided, misaligned views. Runs where the device has
// VK_KHR_cooperative_matrix (CI: Mesa 26's lavapipe through .ci/coopmat-runtime.sh).
#include <bit>
#include <cstdlib>
#include <string>

#include "engine/ops/gemm.h"
#include "engine/vk/error.h"
#include "tests/ops/coopmat_support.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Shape {
  uint32_t n, m, k;
};

std::vector<float> rounded_to_f16(std::vector<float> values) {
  for (float& v : values) v = from_f16_bits(to_f16_bits(v));
  return values;
}

// f16 operands, f32 accumulation: against the f16-rounded reference.
constexpr double kRoundedOperandsNmse = 1e-10;
// Against the f32 baseline kernel: two f16 roundings per product (~1.6e-7 NMSE expected).
constexpr double kBaselineNmse = 1e-6;

class GemmCoopmatTest : public GpuTest {
 protected:
  // Y from `tiles` and from the baseline tiled kernel, and the f16-rounded reference.
  struct Result {
    std::vector<float> y, baseline, reference;
  };

  Result run(Shape s, ops::DType type, const ops::GemmTiles& tiles, uint32_t seed) {
    const std::vector<float> x = random_floats(size_t{s.n} * s.k, seed);
    const StoredWeights w = store_weights(random_floats(size_t{s.m} * s.k, seed + 1), type);
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    gx.write(stream(), x);
    vk::Buffer gw = upload(w.bytes, "w");
    Result r;
    for (const ops::GemmTiles& t : {tiles, ops::baseline_gemm_tiles()}) {
      GuardedBuffer gy(context(), stream(), size_t{s.n} * s.m, "y");
      ops::gemm(stream(), {.x = gx.span(),
                           .w = gw.span(),
                           .y = gy.span(),
                           .w_type = type,
                           .n = s.n,
                           .m = s.m,
                           .k = s.k,
                           .tiles = t});
      (r.y.empty() ? r.y : r.baseline) = gy.read(stream());
    }
    r.reference = reference_matmul(rounded_to_f16(x), rounded_to_f16(w.values), s.n, s.m, s.k);
    return r;
  }
};

std::string tiles_text(const ops::GemmTiles& t) {
  return std::to_string(t.wg_m) + "x" + std::to_string(t.wg_n) + " subgroups of " +
         std::to_string(t.tn) + "x" + std::to_string(t.tm) + " matrices " +
         std::to_string(t.matrix.m) + "x" + std::to_string(t.matrix.n) + "x" +
         std::to_string(t.matrix.k) + ", bk " + std::to_string(t.bk);
}

TEST_F(GemmCoopmatTest, EveryWeightTypeMatchesBothReferences) {
  VKMOE_COOPMAT_TILES_OR_SKIP(context().info(), tiles);
  // A second configuration: one subgroup column, 3 x 1 matrices each, two matrix k per stage.
  ops::GemmTiles odd = *tiles;
  odd.wg_m = 1;
  odd.wg_n = 2;
  odd.tm = 3;
  odd.tn = 1;
  odd.bk = 2 * odd.matrix.k;
  for (const ops::GemmTiles& t : {*tiles, odd}) {
    for (ops::DType type : {ops::DType::f32, ops::DType::f16, ops::DType::bf16}) {
      for (const Shape s : {Shape{1, 1, 1}, Shape{3, 5, 7}, Shape{64, 64, 64}, Shape{45, 70, 93},
                            Shape{33, 130, 257}, Shape{129, 67, 31}}) {
        const Result r = run(s, type, t, s.n + s.k);
        const std::string what = tiles_text(t) + ", " + std::string(ops::dtype_name(type)) + " " +
                                 std::to_string(s.n) + "x" + std::to_string(s.m) + "x" +
                                 std::to_string(s.k);
        EXPECT_LE(nmse(r.y, r.reference), kRoundedOperandsNmse) << what;
        EXPECT_LE(nmse(r.y, r.baseline), kBaselineNmse) << what;
      }
    }
    // GGUF quants: k in whole blocks (32; 256 for q4_k).
    for (ops::DType type : {ops::DType::q8_0, ops::DType::q4_0, ops::DType::q4_k}) {
      const Shape s{37, 40, 512};
      const Result r = run(s, type, t, 3);
      EXPECT_LE(nmse(r.y, r.reference), kRoundedOperandsNmse)
          << tiles_text(t) << " " << ops::dtype_name(type);
      EXPECT_LE(nmse(r.y, r.baseline), kBaselineNmse)
          << tiles_text(t) << " " << ops::dtype_name(type);
    }
  }
}

// X, W and Y as views into larger tensors: row strides wider than the rows and offsets that
// are not multiples of minStorageBufferOffsetAlignment; the words around Y's rows stay. k = 41
// with odd offsets loads one value at a time, k = 48 with rows on multiples of 8 eight at once.
struct View {
  uint32_t n, m, k, xs, ws, ys, x_skip, w_skip, y_skip;
};

class GemmCoopmatViews : public GemmCoopmatTest, public ::testing::WithParamInterface<View> {};

TEST_P(GemmCoopmatViews, StridedMisalignedViews) {
  VKMOE_COOPMAT_TILES_OR_SKIP(context().info(), tiles);
  const auto [n, m, k, xs, ws, ys, x_skip, w_skip, y_skip] = GetParam();
  const std::vector<float> x_all = random_floats(x_skip + size_t{n} * xs, 21);
  const StoredWeights w_all =
      store_weights(random_floats(w_skip + size_t{m} * ws, 22), ops::DType::f16);
  GuardedBuffer gx(context(), stream(), x_all.size(), "x");
  gx.write(stream(), x_all);
  vk::Buffer gw = upload(w_all.bytes, "w");
  GuardedBuffer gy(context(), stream(), y_skip + size_t{n} * ys, "y");
  ops::gemm(stream(), {.x = gx.span().sub(x_skip * 4, ((n - 1) * xs + k) * 4),
                       .w = gw.span().sub(w_skip * 2, ((m - 1) * ws + k) * 2),
                       .y = gy.span().sub(y_skip * 4, ((n - 1) * ys + m) * 4),
                       .w_type = ops::DType::f16,
                       .n = n,
                       .m = m,
                       .k = k,
                       .x_stride = xs,
                       .w_stride = ws,
                       .y_stride = ys,
                       .tiles = tiles});
  const std::vector<float> y_all = gy.read(stream());
  const std::vector<float> x = dense_rows(x_all, x_skip, n, k, xs);
  const std::vector<float> w = dense_rows(w_all.values, w_skip, m, k, ws);
  const std::vector<float> y = dense_rows(y_all, y_skip, n, m, ys);
  EXPECT_LE(nmse(y, reference_matmul(rounded_to_f16(x), rounded_to_f16(w), n, m, k)),
            kRoundedOperandsNmse);
  for (uint32_t r = 0; r + 1 < n; ++r) {
    for (uint32_t c = m; c < ys; ++c) {
      EXPECT_EQ(std::bit_cast<uint32_t>(y_all[y_skip + r * ys + c]), GuardedBuffer::kSentinel);
    }
  }
  EXPECT_EQ(std::bit_cast<uint32_t>(y_all[0]), GuardedBuffer::kSentinel);
}

INSTANTIATE_TEST_SUITE_P(Views, GemmCoopmatViews,
                         ::testing::Values(View{19, 23, 41, 50, 45, 30, 3, 1, 5},
                                           View{19, 23, 48, 56, 64, 30, 4, 8, 5}),
                         [](const auto& view) { return "k" + std::to_string(view.param.k); });

// The forward products take cooperative matrices from fast_paths(): on GPUs by default, on
// CPU devices with VKMOE_FORCE_FAST_PATHS=1, never with VKMOE_DISABLE_FAST_PATHS=1.
TEST_F(GemmCoopmatTest, ForwardProductsPickItFromTheFastPaths) {
  VKMOE_COOPMAT_TILES_OR_SKIP(context().info(), tiles);
  const vk::DeviceInfo& device = context().info();
  const ops::GemmKernel f32_kernel = ops::default_gemm_tiles(device).kernel;
  setenv("VKMOE_FORCE_FAST_PATHS", "1", 1);
  EXPECT_EQ(ops::forward_gemm_tiles(device).kernel, ops::GemmKernel::coopmat);
  setenv("VKMOE_DISABLE_FAST_PATHS", "1", 1);
  EXPECT_EQ(ops::forward_gemm_tiles(device).kernel, f32_kernel);
  unsetenv("VKMOE_DISABLE_FAST_PATHS");
  unsetenv("VKMOE_FORCE_FAST_PATHS");
  EXPECT_EQ(ops::forward_gemm_tiles(device).kernel,
            device.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? f32_kernel : ops::GemmKernel::coopmat);
}

// Tiles the device cannot run are refused with the reason, before anything is recorded.
TEST_F(GemmCoopmatTest, RefusesShapesTheDeviceLacks) {
  ops::GemmTiles t;
  t.kernel = ops::GemmKernel::coopmat;
  t.matrix = {7, 7, 7};
  t.bk = 7;
  EXPECT_THROW(ops::check_gemm_tiles(context().info(), t), Error);
}

}  // namespace
}  // namespace vkmoe::test
