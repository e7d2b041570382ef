// Row softmax against a plain C++ reference: large inputs, masked (-inf) entries, fully
// masked rows, a scale, in place, and both reduction paths.
#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include "engine/ops/softmax.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

constexpr float kMasked = -std::numeric_limits<float>::infinity();

// softmax(scale * x) per row in double; a fully masked row gives zeros (the kernel's choice).
std::vector<float> reference(const std::vector<float>& x, uint32_t rows, uint32_t cols,
                             double scale) {
  std::vector<float> out(x.size());
  for (uint32_t r = 0; r < rows; ++r) {
    const float* in = x.data() + size_t{r} * cols;
    double maximum = -std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < cols; ++c) maximum = std::max(maximum, scale * in[c]);
    if (std::isinf(maximum)) {
      std::fill_n(out.begin() + size_t{r} * cols, cols, 0.0f);
      continue;
    }
    double sum = 0;
    for (uint32_t c = 0; c < cols; ++c) sum += std::exp(scale * in[c] - maximum);
    for (uint32_t c = 0; c < cols; ++c) {
      out[size_t{r} * cols + c] = static_cast<float>(std::exp(scale * in[c] - maximum) / sum);
    }
  }
  return out;
}

// Values up to ±80 (exp overflows f32 past ~88 without the max subtracted), every fifth
// entry of odd rows masked, and the last row fully masked when there are several.
std::vector<float> scores(uint32_t rows, uint32_t cols, uint32_t seed) {
  std::vector<float> x = random_floats(size_t{rows} * cols, seed, -80.0f, 80.0f);
  for (uint32_t r = 1; r < rows; r += 2) {
    for (uint32_t c = r % 5; c < cols; c += 5) x[size_t{r} * cols + c] = kMasked;
  }
  if (rows > 2) std::fill_n(x.end() - cols, cols, kMasked);
  return x;
}

struct Shape {
  uint32_t rows, cols;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.rows << "x" << s.cols;
}

class SoftmaxTest : public GpuTest,
                    public ::testing::WithParamInterface<std::tuple<ops::RowReduction, Shape>> {};

TEST_P(SoftmaxTest, MatchesReference) {
  const auto [reduction, shape] = GetParam();
  if (reduction == ops::RowReduction::subgroup && !context().info().subgroup_arithmetic) {
    GTEST_SKIP() << "no subgroup arithmetic on " << context().info().name;
  }
  for (const float scale : {1.0f, 0.125f}) {
    const auto x = scores(shape.rows, shape.cols, shape.cols);
    GuardedBuffer gx(context(), stream(), x.size(), "x");
    GuardedBuffer out(context(), stream(), x.size(), "out");
    gx.write(stream(), x);
    ops::softmax(stream(), gx.span(), out.span(), shape.rows, shape.cols, {scale, reduction});
    EXPECT_LE(nmse(out.read(stream()), reference(x, shape.rows, shape.cols, scale)), 1e-7)
        << "scale " << scale;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SoftmaxTest,
                         ::testing::Combine(::testing::Values(ops::RowReduction::shared_memory,
                                                              ops::RowReduction::subgroup),
                                            ::testing::Values(Shape{1, 1}, Shape{1, 7},
                                                              Shape{4, 255}, Shape{3, 257},
                                                              Shape{64, 1000}, Shape{5, 4096})));

TEST_F(SoftmaxTest, RowsSumToOne) {
  const uint32_t rows = 8, cols = 151;
  const auto x = random_floats(rows * cols, 3, -80.0f, 80.0f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), x.size(), "out");
  gx.write(stream(), x);
  ops::softmax(stream(), gx.span(), out.span(), rows, cols);
  const std::vector<float> y = out.read(stream());
  for (uint32_t r = 0; r < rows; ++r) {
    double sum = 0;
    for (uint32_t c = 0; c < cols; ++c) sum += y[r * cols + c];
    EXPECT_NEAR(sum, 1.0, 1e-5) << "row " << r;
  }
}

TEST_F(SoftmaxTest, InPlace) {
  const uint32_t rows = 6, cols = 300;
  const auto x = scores(rows, cols, 11);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  gx.write(stream(), x);
  ops::softmax(stream(), gx.span(), gx.span(), rows, cols, {0.5f});
  EXPECT_LE(nmse(gx.read(stream()), reference(x, rows, cols, 0.5)), 1e-7);
}

TEST_F(SoftmaxTest, MisalignedOffsets) {
  const uint32_t rows = 3, cols = 41;
  const auto x = random_floats(rows * cols + 1, 9, -10.0f, 10.0f);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer out(context(), stream(), rows * cols + 2, "out");
  gx.write(stream(), x);
  ops::softmax(stream(), gx.span().sub(4, rows * cols * 4), out.span().sub(8, rows * cols * 4),
               rows, cols);
  const std::vector<float> got = out.read(stream());
  EXPECT_LE(nmse(std::vector<float>(got.begin() + 2, got.end()),
                 reference(std::vector<float>(x.begin() + 1, x.end()), rows, cols, 1.0)),
            1e-7);
}

TEST_F(SoftmaxTest, RejectsBadShapes) {
  GuardedBuffer gx(context(), stream(), 12, "x");
  EXPECT_THROW(ops::softmax(stream(), gx.span(), gx.span(), 4, 4), Error);
  EXPECT_THROW(ops::softmax(stream(), gx.span(), gx.span(), 1, 0), Error);
  // A partial overlap would let one row's output clobber another's input.
  EXPECT_THROW(ops::softmax(stream(), gx.span().sub(0, 24), gx.span().sub(8, 24), 2, 3), Error);
}

}  // namespace
}  // namespace vkmoe::test
