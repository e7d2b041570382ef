// The fast GEMV paths (engine/ops/fast_paths.h) against the baseline path (f32 arithmetic on
// f32 activations) and a double-accumulating C++ reference, on the weights as stored. Their
// error is not f32 accumulation error, so each is held to a stated bound per output row:
//
//   integer dot (Q8_0, Q4_0): x is rounded to int8 codes per block of 32 with scale
//     d = max|x_block| / 127, so each x_j moves by at most d / 2 and
//     |y - y_ref| <= sum_j |w_j| * d_block(j) / 2   (x 1.001, plus 1e-5 * sum_j |w_j x_j| for
//     the f32 arithmetic around it);
//   f16 arithmetic (F16 weights): per group of 8, x rounded to f16 and 8 products summed in
//     f16 (unit roundoff u = 2^-11): |y - y_ref| <= 11 u * sum_j |w_j x_j| + k * 2^-24 (f16
//     subnormal spacing of tiny products).
//
// Tests also check the NMSE such rounding gives on uniform data (integer dot: ~2e-5, held to
// 1e-4), that the launcher names the fast variant, and that VKMOE_DISABLE_FAST_PATHS=1 makes
// the default configuration the baseline one. On a device without a feature its tests skip,
// saying which feature is missing (lavapipe has both).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/ops/fast_paths.h"
#include "engine/ops/gemv.h"
#include "engine/vk/error.h"
#include "tests/ops/matmul_reference.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct Shape {
  uint32_t m, k;
};

// |W| . bound_x per row: the most a row's product can move when x_j moves by bound_x[j].
std::vector<double> row_sums(const std::vector<float>& w, const std::vector<double>& per_x,
                             uint32_t m, uint32_t k) {
  std::vector<double> out(m);
  for (uint32_t r = 0; r < m; ++r) {
    double s = 0;
    for (uint32_t j = 0; j < k; ++j) s += std::fabs(double(w[size_t{r} * k + j])) * per_x[j];
    out[r] = s;
  }
  return out;
}

// Integer-dot bound of each row (header comment).
std::vector<double> integer_dot_bound(const std::vector<float>& w, const std::vector<float>& x,
                                      uint32_t m, uint32_t k) {
  std::vector<double> half_step(k), abs_x(k);
  for (uint32_t b = 0; b < k / 32; ++b) {
    float amax = 0;
    for (uint32_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    for (uint32_t j = 0; j < 32; ++j) half_step[32 * b + j] = double(amax) / 127.0 / 2.0;
  }
  for (uint32_t j = 0; j < k; ++j) abs_x[j] = std::fabs(double(x[j]));
  const std::vector<double> rounding = row_sums(w, half_step, m, k);
  const std::vector<double> magnitude = row_sums(w, abs_x, m, k);
  std::vector<double> bound(m);
  for (uint32_t r = 0; r < m; ++r) bound[r] = 1.001 * rounding[r] + 1e-5 * magnitude[r] + 1e-7;
  return bound;
}

// f16-arithmetic bound of each row (header comment).
std::vector<double> float16_bound(const std::vector<float>& w, const std::vector<float>& x,
                                  uint32_t m, uint32_t k) {
  std::vector<double> abs_x(k);
  for (uint32_t j = 0; j < k; ++j) abs_x[j] = std::fabs(double(x[j]));
  const std::vector<double> magnitude = row_sums(w, abs_x, m, k);
  std::vector<double> bound(m);
  for (uint32_t r = 0; r < m; ++r) {
    bound[r] = 11.0 * std::ldexp(1.0, -11) * magnitude[r] + k * std::ldexp(1.0, -24) + 1e-7;
  }
  return bound;
}

void expect_within(const std::vector<float>& y, const std::vector<float>& expected,
                   const std::vector<double>& bound, const std::string& what) {
  ASSERT_EQ(y.size(), expected.size());
  for (size_t r = 0; r < y.size(); ++r) {
    EXPECT_LE(std::fabs(double(y[r]) - double(expected[r])), bound[r])
        << what << ", row " << r << ": " << y[r] << " vs " << expected[r];
  }
}

class GemvFastPathsTest : public GpuTest {
 protected:
  std::vector<float> run(const StoredWeights& w, const std::vector<float>& x, ops::DType type,
                         Shape s, const ops::GemvConfig& config) {
    vk::Buffer gw = upload(w.bytes, "w");
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    gx.write(stream(), x);
    GuardedBuffer gy(context(), stream(), s.m, "y");
    ops::gemv(stream(), {.w = gw.span(),
                         .x = gx.span(),
                         .y = gy.span(),
                         .w_type = type,
                         .m = s.m,
                         .k = s.k,
                         .config = config});
    return gy.read(stream());
  }

  // Configurations with one fast path on (integer dot, else f16 arithmetic): the device default's
  // layout, a shared-memory reduction over 64 invocations per row, 16 per row with 3 rows each and
  // scalar loads, and the subgroup reduction where the device has it.
  std::vector<ops::GemvConfig> configs(bool integer_dot) {
    std::vector<ops::GemvConfig> all = {ops::default_gemv_config(context().info()),
                                        ops::baseline_gemv_config(),
                                        {16, 2, 3, false, false}};
    const vk::DeviceInfo& device = context().info();
    const uint32_t widest = std::max(device.max_subgroup_size, device.subgroup_size);
    if (device.subgroup_arithmetic && 64 % widest == 0) all.push_back({64, 2, 2, true, true});
    for (ops::GemvConfig& c : all) {
      c.integer_dot = integer_dot;
      c.float16 = !integer_dot;
    }
    return all;
  }
};

std::string text(ops::DType type, Shape s, const ops::GemvConfig& c) {
  return std::string(ops::dtype_name(type)) + " m " + std::to_string(s.m) + ", k " +
         std::to_string(s.k) + ", " + std::to_string(c.k_threads) + " per row x " +
         std::to_string(c.rows) + " x " + std::to_string(c.rows_per_invocation);
}

TEST_F(GemvFastPathsTest, IntegerDotMatchesBaselineWithinActivationRounding) {
  if (!context().info().integer_dot_product) {
    GTEST_SKIP() << "the device has no VK_KHR_shader_integer_dot_product";
  }
  for (const ops::DType type : {ops::DType::q8_0, ops::DType::q4_0}) {
    for (const Shape s : {Shape{1, 32}, Shape{37, 96}, Shape{130, 1024}}) {
      const StoredWeights w = store_weights(random_floats(size_t{s.m} * s.k, s.m + 7), type);
      const std::vector<float> x = random_floats(s.k, s.k + 3);
      const std::vector<float> expected = reference_matmul(w.values, x, s.m, 1, s.k);
      const std::vector<float> baseline = run(w, x, type, s, ops::baseline_gemv_config());
      ASSERT_LE(nmse(baseline, expected), kStoredWeightsNmse);
      const std::vector<double> bound = integer_dot_bound(w.values, x, s.m, s.k);
      for (const ops::GemvConfig& config : configs(true)) {
        EXPECT_EQ(ops::gemv_variant(context().info(), config, type, s.k, false),
                  "gemv_dot_" + std::string(ops::dtype_name(type)) +
                      (config.subgroup ? "_subgroup" : ""));
        const std::vector<float> y = run(w, x, type, s, config);
        expect_within(y, expected, bound, text(type, s, config) + " vs reference");
        expect_within(y, baseline, bound, text(type, s, config) + " vs baseline");
        if (s.m * s.k >= 1024) {
          EXPECT_LE(nmse(y, expected), 1e-4) << text(type, s, config);
        }
      }
    }
  }
}

TEST_F(GemvFastPathsTest, IntegerDotForRoutedExperts) {
  if (!context().info().integer_dot_product) {
    GTEST_SKIP() << "the device has no VK_KHR_shader_integer_dot_product";
  }
  const uint32_t experts = 4, m = 40, k = 64, tokens = 2, top_k = 2;
  const std::vector<uint32_t> chosen = {3, 0, 1, 3};
  for (const ops::DType type : {ops::DType::q8_0, ops::DType::q4_0}) {
    const StoredWeights w = store_weights(random_floats(size_t{experts} * m * k, 71), type);
    const std::vector<float> x = random_floats(size_t{tokens} * k, 72);
    vk::Buffer gw = upload(w.bytes, "w");
    vk::Buffer gc = context().create_buffer(chosen.size() * 4, "choices");
    stream().upload(gc.span(), chosen.data(), chosen.size() * 4);
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    gx.write(stream(), x);
    GuardedBuffer gy(context(), stream(), chosen.size() * m, "y");
    const auto product = [&](const ops::GemvConfig& config) {
      ops::moe_gemv(stream(), {gx.span(), gw.span(), gy.span(), gc.span(), type, experts, m, k,
                               tokens, top_k, false, config});
      return gy.read(stream());
    };
    const std::vector<float> baseline = product(ops::baseline_gemv_config());
    for (ops::GemvConfig fast : configs(true)) {
      EXPECT_EQ(ops::gemv_variant(context().info(), fast, type, k, true),
                "moe_gemv_dot_" + std::string(ops::dtype_name(type)) +
                    (fast.subgroup ? "_subgroup" : ""));
      const std::vector<float> y = product(fast);
      for (uint32_t e = 0; e < chosen.size(); ++e) {
        const std::vector<float> we(w.values.begin() + size_t{chosen[e]} * m * k,
                                    w.values.begin() + size_t{chosen[e] + 1} * m * k);
        const std::vector<float> xe(x.begin() + (e / top_k) * k, x.begin() + (e / top_k + 1) * k);
        const std::vector<float> expected = reference_matmul(we, xe, m, 1, k);
        const std::vector<float> ye(y.begin() + e * m, y.begin() + (e + 1) * m);
        const std::vector<float> be(baseline.begin() + e * m, baseline.begin() + (e + 1) * m);
        EXPECT_LE(nmse(be, expected), kStoredWeightsNmse) << "baseline, entry " << e;
        const std::vector<double> bound = integer_dot_bound(we, xe, m, k);
        const std::string what = std::string(ops::dtype_name(type)) + " entry " + std::to_string(e);
        expect_within(ye, expected, bound, what + " vs reference");
        expect_within(ye, be, bound, what + " vs baseline");
      }
    }
  }
}

TEST_F(GemvFastPathsTest, Float16MatchesBaselineWithinItsBound) {
  if (!context().info().shader_float16) GTEST_SKIP() << "the device has no shaderFloat16";
  const ops::DType type = ops::DType::f16;
  for (const Shape s : {Shape{3, 8}, Shape{129, 1000}, Shape{64, 4096}, Shape{5, 1003}}) {
    const StoredWeights w = store_weights(random_floats(size_t{s.m} * s.k, s.m + 11), type);
    const std::vector<float> x = random_floats(s.k, s.k + 5, -4.0f, 4.0f);
    const std::vector<float> expected = reference_matmul(w.values, x, s.m, 1, s.k);
    const std::vector<float> baseline = run(w, x, type, s, ops::baseline_gemv_config());
    ASSERT_LE(nmse(baseline, expected), kStoredWeightsNmse);
    const std::vector<double> bound = float16_bound(w.values, x, s.m, s.k);
    for (const ops::GemvConfig& config : configs(false)) {
      EXPECT_EQ(ops::gemv_variant(context().info(), config, type, s.k, false).find("_f16math"),
                std::string("gemv_f16").size());
      const std::vector<float> y = run(w, x, type, s, config);
      expect_within(y, expected, bound, text(type, s, config) + " vs reference");
      expect_within(y, baseline, bound, text(type, s, config) + " vs baseline");
      if (s.k >= 1000 && s.k % 8 == 0 && config.vector_loads) {
        // The f16 arithmetic really ran: the f32 path of the same layout rounds differently.
        ops::GemvConfig f32 = config;
        f32.float16 = false;
        EXPECT_NE(y, run(w, x, type, s, f32)) << text(type, s, config);
      }
    }
  }
}

// VKMOE_DISABLE_FAST_PATHS=1: no fast path in the default configuration, the baseline
// variants by name, and results at f32 accuracy (which the integer-dot path does not reach).
TEST_F(GemvFastPathsTest, OverrideSelectsTheBaseline) {
  const vk::DeviceInfo& device = context().info();
  setenv("VKMOE_DISABLE_FAST_PATHS", "1", 1);
  const ops::GemvConfig config = ops::default_gemv_config(device);
  const ops::FastPaths disabled = ops::fast_paths(device);
  setenv("VKMOE_DISABLE_FAST_PATHS", "0", 1);
  const ops::FastPaths enabled = ops::fast_paths(device);
  unsetenv("VKMOE_DISABLE_FAST_PATHS");
  EXPECT_FALSE(config.integer_dot);
  EXPECT_FALSE(config.float16);
  EXPECT_FALSE(disabled.integer_dot || disabled.float16);
  EXPECT_EQ(enabled.integer_dot, device.integer_dot_product);
  EXPECT_EQ(enabled.float16, device.shader_float16 && device.type != VK_PHYSICAL_DEVICE_TYPE_CPU);
  EXPECT_EQ(ops::gemv_variant(device, config, ops::DType::q8_0, 1024, false), "gemv_q8_0");
  EXPECT_EQ(ops::gemv_variant(device, config, ops::DType::q4_0, 1024, true), "moe_gemv_q4_0");
  EXPECT_EQ(ops::gemv_variant(device, config, ops::DType::f16, 1024, false).find("f16math"),
            std::string::npos);

  const Shape s{64, 256};
  const StoredWeights w = store_weights(random_floats(size_t{s.m} * s.k, 81), ops::DType::q8_0);
  const std::vector<float> x = random_floats(s.k, 82);
  const std::vector<float> expected = reference_matmul(w.values, x, s.m, 1, s.k);
  EXPECT_LE(nmse(run(w, x, ops::DType::q8_0, s, config), expected), kStoredWeightsNmse);
  if (device.integer_dot_product) {
    // The default without the override does take the fast path: its rounding shows.
    const ops::GemvConfig fast = ops::default_gemv_config(device);
    EXPECT_TRUE(fast.integer_dot);
    EXPECT_GT(nmse(run(w, x, ops::DType::q8_0, s, fast), expected), kStoredWeightsNmse);
  }
}

// A fast path the device lacks is refused rather than silently replaced.
TEST_F(GemvFastPathsTest, RefusesAPathTheDeviceLacks) {
  vk::DeviceInfo device = context().info();
  device.integer_dot_product = false;
  device.shader_float16 = false;
  const ops::FastPaths none = ops::fast_paths(device);
  EXPECT_FALSE(none.integer_dot || none.float16);
  EXPECT_FALSE(ops::default_gemv_config(device).integer_dot);
  if (context().info().integer_dot_product) return;
  ops::GemvConfig asked = ops::baseline_gemv_config();
  asked.integer_dot = true;
  vk::Buffer big = context().create_buffer(1 << 12, "big");
  EXPECT_THROW(ops::gemv(stream(), {.w = big.span(),
                                    .x = big.span(),
                                    .y = big.span(),
                                    .w_type = ops::DType::q8_0,
                                    .m = 2,
                                    .k = 32,
                                    .config = asked}),
               Error);
}

}  // namespace
}  // namespace vkmoe::test
