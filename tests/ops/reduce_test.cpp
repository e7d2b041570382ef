// Row sums and row maxima against a plain C++ reference, on both reduction paths.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "engine/ops/reduce.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

std::vector<float> reference(ops::RowReduceOp op, const std::vector<float>& x, uint32_t rows,
                             uint32_t cols) {
  std::vector<float> out(rows);
  for (uint32_t r = 0; r < rows; ++r) {
    double sum = 0;
    double maximum = -std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < cols; ++c) {
      sum += x[size_t{r} * cols + c];
      maximum = std::max<double>(maximum, x[size_t{r} * cols + c]);
    }
    out[r] = static_cast<float>(op == ops::RowReduceOp::sum ? sum : maximum);
  }
  return out;
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

class ReduceTest
    : public GpuTest,
      public ::testing::WithParamInterface<std::tuple<ops::RowReduceOp, ops::RowReduction, Shape>> {
};

TEST_P(ReduceTest, MatchesReference) {
  const auto [op, reduction, shape] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  // Maxima of all-negative rows catch a maximum that starts at 0 instead of -inf.
  const bool maxima = op == ops::RowReduceOp::max;
  const auto x = random_floats(size_t{shape.rows} * shape.cols, shape.cols + 7,
                               maxima ? -3.0f : -1.0f, maxima ? -0.5f : 1.5f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), shape.rows, "out");
  gx.write(stream(), x);
  ops::reduce_rows(stream(), op, gx.span(), out.span(), shape.rows, shape.cols, reduction);
  EXPECT_LE(nmse(out.read(stream()), reference(op, x, shape.rows, shape.cols)), 1e-7);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ReduceTest,
    ::testing::Combine(::testing::Values(ops::RowReduceOp::sum, ops::RowReduceOp::max),
                       ::testing::Values(ops::RowReduction::shared_memory,
                                         ops::RowReduction::subgroup),
                       ::testing::Values(Shape{1, 1}, Shape{1, 1000}, Shape{9, 1}, Shape{5, 255},
                                         Shape{3, 257}, Shape{37, 4096}, Shape{2, 100003})));

// The maximum sits at the first and at the last column, and -inf entries are ignored.
TEST_F(ReduceTest, MaximumAtEitherEnd) {
  const uint32_t rows = 3, cols = 300;
  std::vector<float> x(rows * cols, -std::numeric_limits<float>::infinity());
  x[0] = -5.0f;
  x[cols + cols - 1] = 7.0f;
  x[2 * cols + 1] = 1.0f;
  x[2 * cols + 2] = 2.0f;
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), rows, "out");
  gx.write(stream(), x);
  ops::row_maxima(stream(), gx.span(), out.span(), rows, cols);
  EXPECT_EQ(out.read(stream()), (std::vector<float>{-5.0f, 7.0f, 2.0f}));
}

// Offsets that are not multiples of minStorageBufferOffsetAlignment (one float in).
TEST_F(ReduceTest, MisalignedOffsets) {
  const uint32_t rows = 6, cols = 33;
  const auto x = random_floats(rows * cols + 1, 5);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), rows + 3, "out");
  gx.write(stream(), x);
  ops::row_sums(stream(), gx.span().sub(4, rows * cols * 4), out.span().sub(12, rows * 4), rows,
                cols);
  const std::vector<float> got = out.read(stream());
  const std::vector<float> want =
      reference(ops::RowReduceOp::sum, std::vector<float>(x.begin() + 1, x.end()), rows, cols);
  EXPECT_LE(nmse(std::vector<float>(got.begin() + 3, got.end()), want), 1e-7);
}

TEST_F(ReduceTest, RejectsSpansTooSmall) {
  GuardedBuffer gx(context(), stream(), 10, "x");
  GuardedBuffer out(context(), stream(), 2, "out");
  EXPECT_THROW(ops::row_sums(stream(), gx.span(), out.span(), 2, 6), Error);
  EXPECT_THROW(ops::row_sums(stream(), gx.span(), out.span(), 3, 3), Error);
  EXPECT_THROW(ops::row_sums(stream(), gx.span(), out.span(), 1, 0), Error);
}

}  // namespace
}  // namespace vkmoe::test
