// Backward of the sigmoid-gated add (x += σ(z) · y, Qwen2-MoE's shared expert): the C++
// reference against finite differences of the reference forward (double) in z and y, the
// kernel against both, with either reduction and accumulation into dy.
#include <cmath>
#include <cstdlib>
#include <tuple>

#include "engine/ops/sigmoid_gate_backward.h"
#include "engine/vk/error.h"
#include "tests/ops/gradient_check.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

double sigmoid(double z) {
  return 1.0 / (1.0 + std::exp(-z));
}

// [z (rows)..., y (rows x cols)...] -> σ(z[r]) · y[r, c] (the added part of x)
std::vector<double> gated_forward(const std::vector<double>& zy, uint32_t rows, uint32_t cols) {
  std::vector<double> out(size_t{rows} * cols);
  for (uint32_t r = 0; r < rows; ++r) {
    for (uint32_t c = 0; c < cols; ++c)
      out[r * cols + c] = sigmoid(zy[r]) * zy[rows + r * cols + c];
  }
  return out;
}

// [dz..., dy...]
std::vector<double> gated_backward_reference(const std::vector<double>& zy,
                                             const std::vector<double>& d_out, uint32_t rows,
                                             uint32_t cols) {
  std::vector<double> grad(zy.size(), 0.0);
  for (uint32_t r = 0; r < rows; ++r) {
    const double s = sigmoid(zy[r]);
    double dot = 0;
    for (uint32_t c = 0; c < cols; ++c) {
      grad[rows + r * cols + c] = s * d_out[r * cols + c];
      dot += zy[rows + r * cols + c] * d_out[r * cols + c];
    }
    grad[r] = s * (1 - s) * dot;
  }
  return grad;
}

TEST(SigmoidGateBackwardReference, MatchesFiniteDifferences) {
  const uint32_t rows = 3, cols = 5;
  const auto zy = to_double(random_floats(rows + rows * cols, 1, -3.0f, 3.0f));
  const auto r = to_double(random_floats(rows * cols, 2));
  const auto fd = numeric_gradient(
      [&](const std::vector<double>& v) { return project(gated_forward(v, rows, cols), r); }, zy);
  EXPECT_LE(max_relative_error(gated_backward_reference(zy, r, rows, cols), fd), 1e-8);
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

class SigmoidGateBackwardTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Shape>> {};

TEST_P(SigmoidGateBackwardTest, MatchesFiniteDifferencesAndReference) {
  const auto [reduction, s] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  for (bool accumulate : {false, true}) {
    const size_t count = size_t{s.rows} * s.cols;
    const auto z = random_floats(s.rows, 3, -4.0f, 4.0f);
    const auto y = random_floats(count, 4);
    const auto d_out = random_floats(count, 5);
    const auto dy0 = accumulate ? random_floats(count, 6) : std::vector<float>(count);
    GuardedBuffer gz(context(), stream(), s.rows, "z");
    GuardedBuffer gy(context(), stream(), count, "y");
    GuardedBuffer go(context(), stream(), count, "d_out");
    GuardedBuffer gdy(context(), stream(), count, "dy");
    GuardedBuffer gdz(context(), stream(), s.rows, "dz");
    gz.write(stream(), z);
    gy.write(stream(), y);
    go.write(stream(), d_out);
    gdy.write(stream(), dy0);
    ops::sigmoid_gate_backward(stream(), {gz.span(), gy.span(), go.span(), gdy.span(), gdz.span(),
                                          s.rows, s.cols, accumulate, reduction});
    std::vector<float> grad = gdz.read(stream());
    const auto dy = gdy.read(stream());
    grad.insert(grad.end(), dy.begin(), dy.end());
    std::vector<double> zy = to_double(z);
    zy.insert(zy.end(), y.begin(), y.end());
    const auto rd = to_double(d_out);
    auto expected = gated_backward_reference(zy, rd, s.rows, s.cols);
    for (size_t i = 0; i < count; ++i) expected[s.rows + i] += dy0[i];
    EXPECT_LE(nmse_double(grad, expected), 1e-7) << "accumulate " << accumulate;
    if (!accumulate && zy.size() <= 600) {
      const auto fd = numeric_gradient(
          [&](const std::vector<double>& v) {
            return project(gated_forward(v, s.rows, s.cols), rd);
          },
          zy);
      EXPECT_LE(max_relative_error(grad, fd), 1e-5);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SigmoidGateBackwardTest,
                         ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                                              ops::RowReduction::subgroup),
                                            ::testing::Values(Shape{1, 1}, Shape{4, 30},
                                                              Shape{3, 700})));

TEST_F(SigmoidGateBackwardTest, RejectsOverlap) {
  vk::Buffer b = context().create_buffer(4096, "b");
  const vk::BufferSpan s = b.span();
  EXPECT_THROW(ops::sigmoid_gate_backward(stream(), {s.sub(0, 64), s.sub(64, 256), s.sub(320, 256),
                                                     s.sub(64, 256), s.sub(1024, 64), 2, 32}),
               Error);
}

class SigmoidGateBackwardSmallBindingTest : public SigmoidGateBackwardTest {
 protected:
  void SetUp() override {
    setenv("VKMOE_MAX_BINDING_RANGE", "2048", 1);
    SigmoidGateBackwardTest::SetUp();
    unsetenv("VKMOE_MAX_BINDING_RANGE");
  }
};

TEST_F(SigmoidGateBackwardSmallBindingTest, SplitsRows) {
  ASSERT_EQ(context().max_binding_range(), 2048u);
  const uint32_t rows = 30, cols = 100;
  const auto z = random_floats(rows, 1, -3.0f, 3.0f);
  const auto y = random_floats(rows * cols, 2);
  const auto d_out = random_floats(rows * cols, 3);
  GuardedBuffer gz(context(), stream(), rows, "z");
  GuardedBuffer gy(context(), stream(), y.size(), "y");
  GuardedBuffer go(context(), stream(), y.size(), "d_out");
  GuardedBuffer gdy(context(), stream(), y.size(), "dy");
  GuardedBuffer gdz(context(), stream(), rows, "dz");
  gz.write(stream(), z);
  gy.write(stream(), y);
  go.write(stream(), d_out);
  const uint64_t before = stream().dispatch_count();
  ops::sigmoid_gate_backward(stream(),
                             {gz.span(), gy.span(), go.span(), gdy.span(), gdz.span(), rows, cols});
  EXPECT_GT(stream().dispatch_count() - before, 4u);
  std::vector<float> grad = gdz.read(stream());
  const auto dy = gdy.read(stream());
  grad.insert(grad.end(), dy.begin(), dy.end());
  std::vector<double> zy = to_double(z);
  zy.insert(zy.end(), y.begin(), y.end());
  EXPECT_LE(nmse_double(grad, gated_backward_reference(zy, to_double(d_out), rows, cols)), 1e-7);
}

}  // namespace
}  // namespace vkmoe::test
