// GEMV (y = W . x) against a double-accumulating C++ reference, for W in f32, f16 and bf16:
// odd shapes, every reduction path (shared memory, subgroup, one row per invocation), a
// strided misaligned W, and W larger than one binding.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <tuple>

#include "engine/ops/gemv.h"
#include "engine/vk/error.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::string name_of(ops::DType type) {
  return std::string(ops::dtype_name(type));
}

class GemvTest : public GpuTest {
 protected:
  // The device default without the f16-arithmetic fast path, which is held to its own bound
  // in gemv_fast_paths_test.cpp: here every path is f32 arithmetic.
  ops::GemvConfig f32_default() {
    ops::GemvConfig config = ops::default_gemv_config(context().info());
    config.float16 = false;
    config.integer_dot = false;
    return config;
  }

  // Runs one dense GEMV; returns {nmse vs stored weights, nmse vs unrounded weights}.
  std::pair<double, double> run(uint32_t m, uint32_t k, ops::DType type,
                                std::optional<ops::GemvConfig> config, uint32_t seed) {
    const std::vector<float> x = random_floats(k, seed);
    const std::vector<float> w_original = random_floats(size_t{m} * k, seed + 1);
    const StoredWeights w = store_weights(w_original, type);
    vk::Buffer gw = upload(w.bytes, "w");
    GuardedBuffer gx(context(), stream(), k, "x");
    gx.write(stream(), x);
    GuardedBuffer gy(context(), stream(), m, "y");
    ops::GemvArgs args{.w = gw.span(),
                       .x = gx.span(),
                       .y = gy.span(),
                       .w_type = type,
                       .m = m,
                       .k = k,
                       .config = config.value_or(f32_default())};
    ops::gemv(stream(), args);
    const std::vector<float> y = gy.read(stream());
    return {nmse(y, reference_matmul(w.values, x, m, 1, k)),
            nmse(y, reference_matmul(w_original, x, m, 1, k))};
  }

  // Every configuration the tests compare: the baseline, the device default, one row per
  // invocation, several rows per invocation, scalar loads only, and the subgroup reduction
  // where the device has it.
  std::vector<ops::GemvConfig> configs() {
    std::vector<ops::GemvConfig> all = {ops::baseline_gemv_config(), f32_default(),
                                        {1, 64, 1, false, true},     {128, 1, 1, false, true},
                                        {8, 4, 8, false, true},      {16, 2, 3, false, false}};
    const vk::DeviceInfo& device = context().info();
    const uint32_t widest = std::max(device.max_subgroup_size, device.subgroup_size);
    if (device.subgroup_arithmetic && 64 % widest == 0) {
      all.push_back({64, 2, 2, true, true});
      all.push_back({widest, 2, 8, true, true});
    }
    return all;
  }
};

std::string config_text(const ops::GemvConfig& c) {
  return std::to_string(c.k_threads) + " per row, " + std::to_string(c.rows) + " x " +
         std::to_string(c.rows_per_invocation) + " rows" + (c.subgroup ? ", subgroup" : "") +
         (c.vector_loads ? "" : ", scalar loads");
}

class GemvShapes
    : public GemvTest,
      public ::testing::WithParamInterface<std::tuple<ops::DType, uint32_t, uint32_t>> {};

TEST_P(GemvShapes, EveryConfigurationMatchesReference) {
  const auto [type, m, k] = GetParam();
  for (const ops::GemvConfig& config : configs()) {
    const auto [stored, rounded] = run(m, k, type, config, m + 3 * k);
    EXPECT_LE(stored, kStoredWeightsNmse) << config_text(config);
    EXPECT_LE(rounded, kRoundedWeightsNmse) << config_text(config);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, GemvShapes,
                         ::testing::Combine(::testing::Values(ops::DType::f32, ops::DType::f16,
                                                              ops::DType::bf16),
                                            ::testing::Values(1u, 3u, 129u),           // m
                                            ::testing::Values(1u, 7u, 1000u, 1003u)),  // k
                         [](const auto& param_info) {
                           return name_of(std::get<0>(param_info.param)) + "_m" +
                                  std::to_string(std::get<1>(param_info.param)) + "_k" +
                                  std::to_string(std::get<2>(param_info.param));
                         });

// W as a view into a larger tensor with a row stride wider than k. Misaligned: offsets of a
// few elements (not multiples of minStorageBufferOffsetAlignment; scalar loads). Aligned:
// rows on multiples of 8 elements, so 16-byte loads run, with a scalar tail (k = 91).
struct ViewLayout {
  const char* name;
  uint32_t ws, w_skip, x_skip, y_skip;
};

TEST_F(GemvTest, StridedViews) {
  for (const ViewLayout layout :
       {ViewLayout{"misaligned", 100, 1, 3, 2}, ViewLayout{"aligned", 104, 8, 4, 2}})
    for (ops::DType type : {ops::DType::f32, ops::DType::bf16}) {
      SCOPED_TRACE(layout.name);
      const uint32_t m = 37, k = 91, ws = layout.ws, w_skip = layout.w_skip, x_skip = layout.x_skip,
                     y_skip = layout.y_skip;
      const StoredWeights w_all = store_weights(random_floats(w_skip + size_t{m} * ws, 31), type);
      const uint32_t w_bytes = ops::dtype_block_bytes(type);
      const std::vector<float> x_all = random_floats(x_skip + k, 32);
      vk::Buffer gw = upload(w_all.bytes, "w");
      GuardedBuffer gx(context(), stream(), x_all.size(), "x");
      gx.write(stream(), x_all);
      GuardedBuffer gy(context(), stream(), y_skip + m + 1, "y");
      for (const ops::GemvConfig& config : configs()) {
        ops::GemvArgs args{.w = gw.span().sub(w_skip * w_bytes, ((m - 1) * ws + k) * w_bytes),
                           .x = gx.span().sub(x_skip * 4, k * 4),
                           .y = gy.span().sub(y_skip * 4, m * 4),
                           .w_type = type,
                           .m = m,
                           .k = k,
                           .w_stride = ws,
                           .config = config};
        ops::gemv(stream(), args);
        const std::vector<float> y_all = gy.read(stream());
        std::vector<float> w(size_t{m} * k), x(x_all.begin() + x_skip, x_all.end());
        for (uint32_t r = 0; r < m; ++r) {
          for (uint32_t i = 0; i < k; ++i) w[r * k + i] = w_all.values[w_skip + r * ws + i];
        }
        const std::vector<float> y(y_all.begin() + y_skip, y_all.begin() + y_skip + m);
        EXPECT_LE(nmse(y, reference_matmul(w, x, m, 1, k)), kStoredWeightsNmse)
            << name_of(type) << ", " << config_text(config);
        for (uint32_t i : {0u, 1u, y_skip + m}) {
          EXPECT_EQ(std::bit_cast<uint32_t>(y_all[i]), GuardedBuffer::kSentinel) << "word " << i;
        }
      }
    }
}

// Several vectors in one dispatch (grid z), with X and Y rows wider than k and m: every
// vector's product matches, and the gaps between the rows of Y are left untouched.
TEST_F(GemvTest, SeveralVectors) {
  const uint32_t n = 3, m = 45, k = 96, xs = 100, ys = 47;
  for (ops::DType type : {ops::DType::f32, ops::DType::f16}) {
    const StoredWeights w = store_weights(random_floats(size_t{m} * k, 61), type);
    const std::vector<float> x = random_floats(size_t{n} * xs, 62);
    vk::Buffer gw = upload(w.bytes, "w");
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    gx.write(stream(), x);
    GuardedBuffer gy(context(), stream(), size_t{n} * ys, "y");
    for (const ops::GemvConfig& config : configs()) {
      ops::gemv(stream(), {.w = gw.span(),
                           .x = gx.span(),
                           .y = gy.span(),
                           .w_type = type,
                           .m = m,
                           .k = k,
                           .config = config,
                           .n = n,
                           .x_stride = xs,
                           .y_stride = ys});
      const std::vector<float> y_all = gy.read(stream());
      for (uint32_t v = 0; v < n; ++v) {
        const std::vector<float> xv(x.begin() + v * xs, x.begin() + v * xs + k);
        const std::vector<float> yv(y_all.begin() + v * ys, y_all.begin() + v * ys + m);
        EXPECT_LE(nmse(yv, reference_matmul(w.values, xv, m, 1, k)), kStoredWeightsNmse)
            << name_of(type) << ", vector " << v << ", " << config_text(config);
        if (v + 1 < n) {
          EXPECT_EQ(std::bit_cast<uint32_t>(y_all[v * ys + m]), GuardedBuffer::kSentinel);
        }
      }
    }
  }
}

TEST_F(GemvTest, RejectsBadShapesAndConfigurations) {
  vk::Buffer small = context().create_buffer(64, "small");
  EXPECT_THROW(ops::gemv(stream(),
                         {.w = small.span(), .x = small.span(), .y = small.span(), .m = 8, .k = 8}),
               Error);
  vk::Buffer big = context().create_buffer(4096, "big");
  EXPECT_THROW(ops::gemv(stream(), {.w = big.span(),
                                    .x = big.span(),
                                    .y = big.span(),
                                    .m = 4,
                                    .k = 4,
                                    .config = ops::GemvConfig{48, 1, 1, false, true}}),
               Error);
}

// A W of 8448 x 4096 f32 (132 MiB) is larger than lavapipe's maxStorageBufferRange (128 MiB).
TEST_F(GemvTest, WeightLargerThanOneBinding) {
  const uint32_t m = 8448, k = 4096;
  ASSERT_GT(uint64_t{m} * k * 4, context().max_binding_range())
      << "this device binds the whole weight; the test would not exercise splitting";
  EXPECT_LE(run(m, k, ops::DType::f32, std::nullopt, 41).first, kStoredWeightsNmse);
}

// VKMOE_MAX_BINDING_RANGE shrinks the binding limit so W is split into many dispatches.
class GemvSmallBindingTest : public GemvTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    GemvTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(GemvSmallBindingTest, SplitsTheWeight) {
  for (ops::DType type : {ops::DType::f16, ops::DType::f32}) {
    const uint64_t before = stream().dispatch_count();
    EXPECT_LE(run(75, 130, type, std::nullopt, 51).first, kStoredWeightsNmse) << name_of(type);
    EXPECT_GT(stream().dispatch_count() - before, 4u) << "expected several chunked dispatches";
  }
}

}  // namespace
}  // namespace vkmoe::test
