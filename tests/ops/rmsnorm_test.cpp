// RMSNorm against a plain C++ reference written from Hugging Face's Qwen2MoeRMSNorm:
//   variance = x.pow(2).mean(-1); x = x * rsqrt(variance + eps); return weight * x
#include <cmath>
#include <tuple>

#include "engine/ops/rmsnorm.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::vector<float> reference(const std::vector<float>& x, const std::vector<float>& weight,
                             uint32_t rows, uint32_t cols, double eps) {
  std::vector<float> out(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* in = x.data() + size_t{r} * cols;
    double squares = 0;
    for (uint32_t c = 0; c < cols; ++c) squares += double{in[c]} * in[c];
    const double inverse_rms = 1.0 / std::sqrt(squares / cols + eps);
    for (uint32_t c = 0; c < cols; ++c) {
      out[size_t{r} * cols + c] = static_cast<float>(weight[c] * (in[c] * inverse_rms));
    }
  }
  return out;
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

class RmsNormTest : public GpuTest,
                    public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Shape>> {};

TEST_P(RmsNormTest, MatchesReference) {
  const auto [reduction, shape] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  const float eps = 1e-6f;
  const auto x = random_floats(size_t{shape.rows} * shape.cols, shape.cols, -3.0f, 3.0f);
  const auto weight = random_floats(shape.cols, 2, 0.5f, 1.5f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gw(context(), stream(), weight.size(), "weight");
  GuardedBuffer out(context(), stream(), x.size(), "out");
  gx.write(stream(), x);
  gw.write(stream(), weight);
  ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), shape.rows, shape.cols, eps, reduction);
  EXPECT_LE(nmse(out.read(stream()), reference(x, weight, shape.rows, shape.cols, eps)), 1e-7);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, RmsNormTest,
    ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                         ops::RowReduction::subgroup),
                       ::testing::Values(Shape{1, 1}, Shape{7, 1}, Shape{1, 4096}, Shape{5, 255},
                                         Shape{3, 257}, Shape{16, 2048}, Shape{2, 5120})));

// eps dominates a row of zeros (no division by zero) and tiny rows.
TEST_F(RmsNormTest, EpsGuardsZeroRows) {
  const uint32_t rows = 2, cols = 100;
  std::vector<float> x(rows * cols, 0.0f);
  for (uint32_t c = 0; c < cols; ++c) x[cols + c] = 1e-4f * static_cast<float>(c % 7);
  const auto weight = random_floats(cols, 4, 0.5f, 1.5f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gw(context(), stream(), cols, "weight");
  GuardedBuffer out(context(), stream(), x.size(), "out");
  gx.write(stream(), x);
  gw.write(stream(), weight);
  ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), rows, cols, 1e-5f);
  EXPECT_LE(nmse(out.read(stream()), reference(x, weight, rows, cols, 1e-5f)), 1e-7);
}

TEST_F(RmsNormTest, InPlace) {
  const uint32_t rows = 9, cols = 333;
  const auto x = random_floats(rows * cols, 6, -2.0f, 2.0f);
  const auto weight = random_floats(cols, 7, -1.0f, 1.0f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gw(context(), stream(), cols, "weight");
  gx.write(stream(), x);
  gw.write(stream(), weight);
  ops::rmsnorm(stream(), gx.span(), gw.span(), gx.span(), rows, cols, 1e-6f);
  EXPECT_LE(nmse(gx.read(stream()), reference(x, weight, rows, cols, 1e-6f)), 1e-7);
}

TEST_F(RmsNormTest, MisalignedOffsets) {
  const uint32_t rows = 4, cols = 45;
  const auto x = random_floats(rows * cols + 3, 8);
  const auto weight = random_floats(cols + 1, 9, 0.5f, 1.5f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer gw(context(), stream(), weight.size(), "weight");
  GuardedBuffer out(context(), stream(), rows * cols + 1, "out");
  gx.write(stream(), x);
  gw.write(stream(), weight);
  ops::rmsnorm(stream(), gx.span().sub(12, rows * cols * 4), gw.span().sub(4, cols * 4),
               out.span().sub(4, rows * cols * 4), rows, cols, 1e-6f);
  const std::vector<float> got = out.read(stream());
  EXPECT_LE(
      nmse(std::vector<float>(got.begin() + 1, got.end()),
           reference(std::vector<float>(x.begin() + 3, x.end()),
                     std::vector<float>(weight.begin() + 1, weight.end()), rows, cols, 1e-6f)),
      1e-7);
}

TEST_F(RmsNormTest, RejectsBadShapes) {
  GuardedBuffer gx(context(), stream(), 12, "x");
  GuardedBuffer gw(context(), stream(), 3, "weight");
  GuardedBuffer out(context(), stream(), 12, "out");
  EXPECT_THROW(ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), 3, 4, 1e-6f), Error);
  EXPECT_THROW(ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), 5, 3, 1e-6f), Error);
  EXPECT_THROW(ops::rmsnorm(stream(), gx.span(), gw.span(), out.span(), 4, 3, -1.0f), Error);
}

}  // namespace
}  // namespace vkmoe::test
