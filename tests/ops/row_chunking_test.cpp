// Row kernels never bind more than maxStorageBufferRange: they split the rows into chunks.
// Checked two ways: cheaply, with VKMOE_MAX_BINDING_RANGE shrinking the limit to a few rows,
// and once for real, with a tensor larger than the device limit (128 MiB on lavapipe).
#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>

#include "engine/ops/reduce.h"
#include "engine/ops/rmsnorm.h"
#include "engine/ops/rope.h"
#include "engine/ops/softmax.h"
#include "engine/ops/topk.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

// The references here are deliberately minimal (the per-kernel suites hold the careful ones);
// these tests check that every chunk lands where it belongs.
std::vector<float> row_sums(const std::vector<float>& x, uint64_t rows, uint64_t cols) {
  std::vector<float> out(rows);
  for (uint64_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (uint64_t c = 0; c < cols; ++c) sum += x[r * cols + c];
    out[r] = static_cast<float>(sum);
  }
  return out;
}

std::vector<float> rmsnorm(const std::vector<float>& x, const std::vector<float>& w, uint64_t rows,
                           uint64_t cols, double eps) {
  std::vector<float> out(x.size());
  for (uint64_t r = 0; r < rows; ++r) {
    double squares = 0;
    for (uint64_t c = 0; c < cols; ++c) squares += double{x[r * cols + c]} * x[r * cols + c];
    const double scale = 1.0 / std::sqrt(squares / static_cast<double>(cols) + eps);
    for (uint64_t c = 0; c < cols; ++c) {
      out[r * cols + c] = static_cast<float>(w[c] * (x[r * cols + c] * scale));
    }
  }
  return out;
}

std::vector<float> softmax(const std::vector<float>& x, uint64_t rows, uint64_t cols) {
  std::vector<float> out(x.size());
  for (uint64_t r = 0; r < rows; ++r) {
    double maximum = -INFINITY, sum = 0;
    for (uint64_t c = 0; c < cols; ++c) maximum = std::max<double>(maximum, x[r * cols + c]);
    for (uint64_t c = 0; c < cols; ++c) sum += std::exp(x[r * cols + c] - maximum);
    for (uint64_t c = 0; c < cols; ++c) {
      out[r * cols + c] = static_cast<float>(std::exp(x[r * cols + c] - maximum) / sum);
    }
  }
  return out;
}

// A context whose bindings may cover at most kRange bytes (set before it is created).
class SmallBindingTest : public GpuTest {
 protected:
  static constexpr const char* kVariable = "VKMOE_MAX_BINDING_RANGE";
  static constexpr uint64_t kRange = 4096;

  void SetUp() override {
    if (const char* value = std::getenv(kVariable)) previous_ = value;
    setenv(kVariable, std::to_string(kRange).c_str(), 1);
    GpuTest::SetUp();
    restore();
    ASSERT_EQ(context().max_binding_range(), kRange);
  }
  void TearDown() override {
    restore();
    GpuTest::TearDown();
  }

  // Dispatches recorded by `launch`: more than one shows the launcher split the work.
  template <typename Launch>
  uint64_t dispatches(Launch&& launch) {
    const uint64_t before = stream().dispatch_count();
    launch();
    return stream().dispatch_count() - before;
  }

 private:
  void restore() {
    if (previous_) {
      setenv(kVariable, previous_->c_str(), 1);
    } else {
      unsetenv(kVariable);
    }
  }
  std::optional<std::string> previous_;
};

// 101 columns: 404-byte rows, so chunks start at offsets that are not 16-byte aligned.
constexpr uint32_t kRows = 53, kCols = 101;

TEST_F(SmallBindingTest, RowSums) {
  const auto x = random_floats(kRows * kCols, 1);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), kRows, "out");
  gx.write(stream(), x);
  EXPECT_GT(dispatches([&] { ops::row_sums(stream(), gx.span(), out.span(), kRows, kCols); }), 4u);
  EXPECT_LE(nmse(out.read(stream()), row_sums(x, kRows, kCols)), 1e-7);
}

TEST_F(SmallBindingTest, RmsNorm) {
  const auto x = random_floats(kRows * kCols, 2);
  const auto w = random_floats(kCols, 3, 0.5f, 1.5f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gw(context(), stream(), kCols, "weight");
  GuardedBuffer out(context(), stream(), x.size(), "out");
  gx.write(stream(), x);
  gw.write(stream(), w);
  EXPECT_GT(dispatches([&] {
              ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), kRows, kCols, 1e-6f);
            }),
            4u);
  EXPECT_LE(nmse(out.read(stream()), rmsnorm(x, w, kRows, kCols, 1e-6)), 1e-7);
}

TEST_F(SmallBindingTest, Softmax) {
  const auto x = random_floats(kRows * kCols, 4, -20.0f, 20.0f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), x.size(), "out");
  gx.write(stream(), x);
  EXPECT_GT(dispatches([&] { ops::softmax(stream(), gx.span(), out.span(), kRows, kCols); }), 4u);
  EXPECT_LE(nmse(out.read(stream()), softmax(x, kRows, kCols)), 1e-7);
}

TEST_F(SmallBindingTest, TopK) {
  const uint32_t k = 3;
  auto x = random_floats(kRows * kCols, 5);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer values(context(), stream(), kRows * k, "values");
  GuardedBuffer indices(context(), stream(), kRows * k, "indices");
  gx.write(stream(), x);
  EXPECT_GT(dispatches([&] {
              ops::topk(stream(), gx.span(), values.span(), indices.span(), kRows, kCols, k);
            }),
            4u);
  const std::vector<float> got_values = values.read(stream());
  const std::vector<float> got_indices = indices.read(stream());
  for (uint32_t r = 0; r < kRows; ++r) {
    for (uint32_t slot = 0; slot < k; ++slot) {  // take the maximum out, k times
      const auto begin = x.begin() + r * kCols;
      const auto best = std::max_element(begin, begin + kCols);
      ASSERT_EQ(std::bit_cast<uint32_t>(got_indices[r * k + slot]), best - begin) << "row " << r;
      ASSERT_EQ(got_values[r * k + slot], *best) << "row " << r;
      *best = -std::numeric_limits<float>::infinity();
    }
  }
}

// The reference is the same rope on a context without the small limit.
TEST_F(SmallBindingTest, Rope) {
  const ops::RopeShape shape{100, 2, 26, 26};
  const uint32_t count = shape.tokens * shape.heads * shape.head_dim;
  const auto x = random_floats(count, 6);
  std::vector<float> positions(shape.tokens);
  for (uint32_t t = 0; t < shape.tokens; ++t) positions[t] = std::bit_cast<float>(t * 37);
  const auto inv_freq = ops::rope_inv_freq(10000.0f, shape.rotary_dim);
  GuardedBuffer gx(context(), stream(), count, "x");
  GuardedBuffer gp(context(), stream(), shape.tokens, "positions");
  GuardedBuffer gf(context(), stream(), inv_freq.size(), "inv_freq");
  GuardedBuffer out(context(), stream(), count, "out");
  gx.write(stream(), x);
  gp.write(stream(), positions);
  gf.write(stream(), inv_freq);
  EXPECT_GT(dispatches([&] {
              ops::rope(stream(), shape, {gx.span()}, gp.span(), gf.span(), {out.span()});
            }),
            4u);
  std::vector<float> want(count);
  const uint32_t half = shape.rotary_dim / 2;
  for (uint32_t t = 0; t < shape.tokens; ++t) {
    for (uint32_t h = 0; h < shape.heads; ++h) {
      const size_t base = (size_t{t} * shape.heads + h) * shape.head_dim;
      for (uint32_t i = 0; i < half; ++i) {
        const float angle = static_cast<float>(t * 37) * inv_freq[i];
        const double c = std::cos(double{angle}), s = std::sin(double{angle});
        want[base + i] = static_cast<float>(x[base + i] * c - x[base + i + half] * s);
        want[base + i + half] = static_cast<float>(x[base + i + half] * c + x[base + i] * s);
      }
    }
  }
  EXPECT_LE(nmse(out.read(stream()), want), 1e-7);
}

// One tensor larger than the device's own limit: 8200 x 4096 floats is 134.3 MB, past
// lavapipe's 128 MiB (a device with a larger limit runs it in one piece).
class LargeTensorTest : public GpuTest {
 protected:
  static constexpr uint32_t kRows = 8200, kCols = 4096;
  static constexpr uint64_t kCount = uint64_t{kRows} * kCols;

  // On a device whose limit the tensor passes, the launcher must have split it.
  void expect_split(uint64_t dispatches) {
    if (kCount * sizeof(float) > context().max_binding_range()) {
      EXPECT_GE(dispatches, 2u);
    }
  }

  void SetUp() override {
    GpuTest::SetUp();
    x_ = random_floats(kCount, 42);
  }
  std::vector<float> x_;
};

TEST_F(LargeTensorTest, RowSums) {
  GuardedBuffer gx(context(), stream(), kCount, "x");
  GuardedBuffer out(context(), stream(), kRows, "out");
  gx.write(stream(), x_);
  const uint64_t before = stream().dispatch_count();
  ops::row_sums(stream(), gx.span(), out.span(), kRows, kCols);
  expect_split(stream().dispatch_count() - before);
  EXPECT_LE(nmse(out.read(stream()), row_sums(x_, kRows, kCols)), 1e-7);
}

TEST_F(LargeTensorTest, RmsNorm) {
  const auto w = random_floats(kCols, 43, 0.5f, 1.5f);
  GuardedBuffer gx(context(), stream(), kCount, "x");
  GuardedBuffer gw(context(), stream(), kCols, "weight");
  GuardedBuffer out(context(), stream(), kCount, "out");
  gx.write(stream(), x_);
  gw.write(stream(), w);
  const uint64_t before = stream().dispatch_count();
  ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), kRows, kCols, 1e-6f);
  expect_split(stream().dispatch_count() - before);
  EXPECT_LE(nmse(out.read(stream()), rmsnorm(x_, w, kRows, kCols, 1e-6)), 1e-7);
}

}  // namespace
}  // namespace vkmoe::test
