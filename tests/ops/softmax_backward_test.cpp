// Row softmax backward: the C++ reference against finite differences of the reference
// softmax (double), the kernel against both, with either reduction and accumulation.
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "engine/ops/softmax_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::vector<double> softmax_forward(const std::vector<double>& x, uint32_t rows, uint32_t cols) {
  std::vector<double> p(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    double top = -INFINITY, total = 0;
    for (uint32_t c = 0; c < cols; ++c) top = std::max(top, x[r * cols + c]);
    for (uint32_t c = 0; c < cols; ++c) total += p[r * cols + c] = std::exp(x[r * cols + c] - top);
    for (uint32_t c = 0; c < cols; ++c) p[r * cols + c] /= total;
  }
  return p;
}

std::vector<double> softmax_backward_reference(const std::vector<double>& p,
                                               const std::vector<double>& dp, uint32_t rows,
                                               uint32_t cols) {
  std::vector<double> dx(p.size());
  for (uint32_t r = 0; r < rows; ++r) {
    double dot = 0;
    for (uint32_t c = 0; c < cols; ++c) dot += p[r * cols + c] * dp[r * cols + c];
    for (uint32_t c = 0; c < cols; ++c)
      dx[r * cols + c] = p[r * cols + c] * (dp[r * cols + c] - dot);
  }
  return dx;
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

TEST(SoftmaxBackwardReference, MatchesFiniteDifferences) {
  const uint32_t rows = 3, cols = 6;
  const auto x = to_double(random_floats(rows * cols, 1, -3.0f, 3.0f));
  const auto r = to_double(random_floats(rows * cols, 2));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& xv) { return project(softmax_forward(xv, rows, cols), r); },
      x);
  EXPECT_LE(max_relative_error(
                softmax_backward_reference(softmax_forward(x, rows, cols), r, rows, cols), fd),
            1e-8);
}

class SoftmaxBackwardTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Shape>> {};

TEST_P(SoftmaxBackwardTest, MatchesFiniteDifferencesAndReference) {
  const auto [reduction, s] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  for (bool accumulate : {false, true}) {
    const size_t count = size_t{s.rows} * s.cols;
    const auto x = to_double(random_floats(count, s.cols, -3.0f, 3.0f));
    const auto p = to_float(softmax_forward(x, s.rows, s.cols));
    const auto dp = random_floats(count, 5);
    const auto dx0 = accumulate ? random_floats(count, 6) : std::vector<float>(count);
    GuardedBuffer gp(context(), stream(), count, "p");
    GuardedBuffer gdp(context(), stream(), count, "dp");
    GuardedBuffer gdx(context(), stream(), count, "dx");
    gp.write(stream(), p);
    gdp.write(stream(), dp);
    gdx.write(stream(), dx0);
    ops::softmax_backward(
        stream(), {gp.span(), gdp.span(), gdx.span(), s.rows, s.cols, accumulate, reduction});
    auto dx = gdx.read(stream());
    for (size_t i = 0; i < count; ++i) dx[i] -= dx0[i];  // exact enough: dx0 is O(1)
    const auto dpd = to_double(dp);
    EXPECT_LE(nmse_double(dx, softmax_backward_reference(to_double(p), dpd, s.rows, s.cols)), 1e-7)
        << "accumulate " << accumulate;
    if (count <= 600) {
      const auto fd = numeric_gradient(
          [&](const std::vector<double>& xv) {
            return project(softmax_forward(xv, s.rows, s.cols), dpd);
          },
          x);
      EXPECT_LE(max_relative_error(dx, fd), 1e-5) << "accumulate " << accumulate;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SoftmaxBackwardTest,
                         ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                                              ops::RowReduction::subgroup),
                                            ::testing::Values(Shape{1, 1}, Shape{5, 8},
                                                              Shape{3, 60}, Shape{4, 700})));

TEST_F(SoftmaxBackwardTest, RejectsOverlap) {
  vk::Buffer buffer = context().create_buffer(4096, "b");
  EXPECT_THROW(ops::softmax_backward(stream(), {buffer.span(), buffer.span(), buffer.span(), 2, 8}),
               Error);
}

class SoftmaxBackwardSmallBindingTest : public SoftmaxBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    SoftmaxBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(SoftmaxBackwardSmallBindingTest, SplitsRows) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  const uint32_t rows = 30, cols = 100;
  const auto p = to_float(softmax_forward(to_double(random_floats(rows * cols, 1)), rows, cols));
  const auto dp = random_floats(rows * cols, 2);
  GuardedBuffer gp(context(), stream(), p.size(), "p");
  GuardedBuffer gdp(context(), stream(), dp.size(), "dp");
  GuardedBuffer gdx(context(), stream(), p.size(), "dx");
  gp.write(stream(), p);
  gdp.write(stream(), dp);
  const uint64_t before = stream().dispatch_count();
  ops::softmax_backward(stream(), {gp.span(), gdp.span(), gdx.span(), rows, cols});
  EXPECT_GT(stream().dispatch_count() - before, 4u);
  EXPECT_LE(nmse_double(gdx.read(stream()),
                        softmax_backward_reference(to_double(p), to_double(dp), rows, cols)),
            1e-7);
}

}  // namespace
}  // namespace vkmoe::test
