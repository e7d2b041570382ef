// RMSNorm backward for the input: the C++ reference backward against finite differences of
// the reference forward (double), the kernel against both, with either reduction, rows
// longer than a workgroup, accumulation and rows split over bindings.
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "engine/ops/rmsnorm_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::vector<double> rmsnorm_forward(const std::vector<double>& x, const std::vector<double>& w,
                                    uint32_t rows, uint32_t cols, double eps) {
  std::vector<double> y(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    double squares = 0;
    for (uint32_t c = 0; c < cols; ++c) squares += x[r * cols + c] * x[r * cols + c];
    const double inverse_rms = 1.0 / std::sqrt(squares / cols + eps);
    for (uint32_t c = 0; c < cols; ++c) y[r * cols + c] = w[c] * x[r * cols + c] * inverse_rms;
  }
  return y;
}

std::vector<double> rmsnorm_backward_reference(const std::vector<double>& x,
                                               const std::vector<double>& w,
                                               const std::vector<double>& dy, uint32_t rows,
                                               uint32_t cols, double eps) {
  std::vector<double> dx(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    double squares = 0, projection = 0;
    for (uint32_t c = 0; c < cols; ++c) {
      const double v = x[r * cols + c];
      squares += v * v;
      projection += w[c] * dy[r * cols + c] * v;
    }
    const double inverse_rms = 1.0 / std::sqrt(squares / cols + eps);
    const double correction = projection * std::pow(inverse_rms, 3) / cols;
    for (uint32_t c = 0; c < cols; ++c) {
      dx[r * cols + c] = inverse_rms * w[c] * dy[r * cols + c] - x[r * cols + c] * correction;
    }
  }
  return dx;
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

TEST(RmsNormBackwardReference, MatchesFiniteDifferences) {
  const uint32_t rows = 3, cols = 7;
  const double eps = 1e-2;  // large enough to matter
  const auto x = to_double(random_floats(rows * cols, 1, -2.0f, 2.0f));
  const auto w = to_double(random_floats(cols, 2, 0.5f, 1.5f));
  const auto r = to_double(random_floats(rows * cols, 3));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& xv) {
        return project(rmsnorm_forward(xv, w, rows, cols, eps), r);
      },
      x);
  EXPECT_LE(max_relative_error(rmsnorm_backward_reference(x, w, r, rows, cols, eps), fd), 1e-8);
}

class RmsNormBackwardTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Shape>> {
 protected:
  std::vector<float> run(const std::vector<float>& x, const std::vector<float>& w,
                         const std::vector<float>& dy, const std::vector<float>& dx0, uint32_t rows,
                         uint32_t cols, float eps, bool accumulate, ops::RowReduction reduction) {
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    GuardedBuffer gw(context(), stream(), w.size(), "weight");
    GuardedBuffer gdy(context(), stream(), dy.size(), "dy");
    GuardedBuffer gdx(context(), stream(), x.size(), "dx");
    gx.write(stream(), x);
    gw.write(stream(), w);
    gdy.write(stream(), dy);
    gdx.write(stream(), dx0);
    ops::rmsnorm_backward(stream(), {gx.span(), gw.span(), gdy.span(), gdx.span(), rows, cols, eps,
                                     accumulate, reduction});
    return gdx.read(stream());
  }
};

TEST_P(RmsNormBackwardTest, MatchesFiniteDifferencesAndReference) {
  const auto [reduction, s] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  const float eps = 1e-6f;
  const size_t count = size_t{s.rows} * s.cols;
  const auto x = random_floats(count, s.cols, -3.0f, 3.0f);
  const auto w = random_floats(s.cols, 2, 0.5f, 1.5f);
  const auto dy = random_floats(count, 3);
  const auto dx = run(x, w, dy, std::vector<float>(count), s.rows, s.cols, eps, false, reduction);
  const auto xd = to_double(x), wd = to_double(w), dyd = to_double(dy);
  EXPECT_LE(nmse_double(dx, rmsnorm_backward_reference(xd, wd, dyd, s.rows, s.cols, eps)), 1e-7);
  if (count <= 600) {
    const auto fd = numeric_gradient(
        [&](const std::vector<double>& xv) {
          return project(rmsnorm_forward(xv, wd, s.rows, s.cols, eps), dyd);
        },
        xd);
    EXPECT_LE(max_relative_error(dx, fd), 1e-5);
  }
}

// No single-column rows: there dx = w·dy·eps/(x² + eps)^(3/2), a cancellation that leaves f32
// no correct digits for eps = 1e-6 (the gradient lies entirely along x).
INSTANTIATE_TEST_SUITE_P(Shapes, RmsNormBackwardTest,
                         ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                                              ops::RowReduction::subgroup),
                                            ::testing::Values(Shape{1, 3}, Shape{4, 9},
                                                              Shape{2, 300}, Shape{5, 1031})));

TEST_F(RmsNormBackwardTest, Accumulates) {
  const uint32_t rows = 6, cols = 77;
  const auto x = random_floats(rows * cols, 11, -2.0f, 2.0f);
  const auto w = random_floats(cols, 12, -1.0f, 1.0f);
  const auto dy = random_floats(rows * cols, 13);
  const auto dx0 = random_floats(rows * cols, 14);
  const auto dx = run(x, w, dy, dx0, rows, cols, 1e-5f, true, ops::RowReduction::automatic);
  auto expected =
      rmsnorm_backward_reference(to_double(x), to_double(w), to_double(dy), rows, cols, 1e-5);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += dx0[i];
  EXPECT_LE(nmse_double(dx, expected), 1e-7);
}

TEST_F(RmsNormBackwardTest, RejectsOverlap) {
  vk::Buffer buffer = context().create_buffer(4096, "b");
  EXPECT_THROW(ops::rmsnorm_backward(stream(), {buffer.span(), buffer.span(), buffer.span(),
                                                buffer.span(), 2, 8, 1e-6f}),
               Error);
}

class RmsNormBackwardSmallBindingTest : public RmsNormBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    RmsNormBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(RmsNormBackwardSmallBindingTest, SplitsRows) {
  const uint32_t rows = 40, cols = 100;  // 400 bytes a row: several chunks
  const auto x = random_floats(rows * cols, 21, -2.0f, 2.0f);
  const auto w = random_floats(cols, 22, 0.5f, 1.5f);
  const auto dy = random_floats(rows * cols, 23);
  const uint64_t before = stream().dispatch_count();
  const auto dx = run(x, w, dy, std::vector<float>(rows * cols), rows, cols, 1e-6f, false,
                      ops::RowReduction::automatic);
  EXPECT_GT(stream().dispatch_count() - before, 4u);
  EXPECT_LE(nmse_double(dx, rmsnorm_backward_reference(to_double(x), to_double(w), to_double(dy),
                                                       rows, cols, 1e-6)),
            1e-7);
}

}  // namespace
}  // namespace vkmoe::test
