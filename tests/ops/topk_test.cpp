// Top-k against a plain C++ reference: exact indices and values, descending, ties to the
// smaller index; ties, k = 1, k = cols, -inf entries, cols not a power of two, rows longer
// than the kernel's shared tile (1024).
#include <algorithm>
#include <bit>
#include <limits>
#include <numeric>
#include <random>

#include "engine/ops/topk.h"
#include "engine/vk/error.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

struct TopK {
  std::vector<float> values;
  std::vector<uint32_t> indices;
};

TopK reference(const std::vector<float>& x, uint32_t rows, uint32_t cols, uint32_t k) {
  TopK result;
  for (uint32_t r = 0; r < rows; ++r) {
    const float* row = x.data() + size_t{r} * cols;
    std::vector<uint32_t> order(cols);
    std::iota(order.begin(), order.end(), 0u);
    // Stable: among equal values the smaller index stays first.
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return row[a] > row[b]; });
    for (uint32_t i = 0; i < k; ++i) {
      result.values.push_back(row[order[i]]);
      result.indices.push_back(order[i]);
    }
  }
  return result;
}

// Small integers give many ties; a few -inf (masked experts) and repeated maxima.
std::vector<float> scores_with_ties(uint32_t rows, uint32_t cols, uint32_t seed) {
  std::mt19937 generator(seed);
  std::vector<float> x(size_t{rows} * cols);
  for (float& v : x) v = static_cast<float>(generator() % 9) - 4.0f;
  for (size_t i = 3; i < x.size(); i += 11) x[i] = -std::numeric_limits<float>::infinity();
  return x;
}

struct Case {
  uint32_t rows, cols, k;
  bool ties;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.rows << "x" << c.cols << " k" << c.k << (c.ties ? " ties" : "");
}

class TopKTest : public GpuTest, public ::testing::WithParamInterface<Case> {};

TEST_P(TopKTest, MatchesReference) {
  const Case c = GetParam();
  const std::vector<float> x = c.ties ? scores_with_ties(c.rows, c.cols, c.cols)
                                      : random_floats(size_t{c.rows} * c.cols, c.cols, -5, 5);
  GuardedBuffer gx(context(), stream(), x.size(), "x");
  GuardedBuffer values(context(), stream(), size_t{c.rows} * c.k, "values");
  GuardedBuffer indices(context(), stream(), size_t{c.rows} * c.k, "indices");
  gx.write(stream(), x);
  ops::topk(stream(), gx.span(), values.span(), indices.span(), c.rows, c.cols, c.k);
  const TopK want = reference(x, c.rows, c.cols, c.k);
  const std::vector<float> got_values = values.read(stream());
  const std::vector<float> got_index_words = indices.read(stream());
  for (size_t i = 0; i < want.indices.size(); ++i) {
    const uint32_t got_index = std::bit_cast<uint32_t>(got_index_words[i]);
    ASSERT_EQ(got_index, want.indices[i]) << "row " << i / c.k << " slot " << i % c.k;
    ASSERT_EQ(std::bit_cast<uint32_t>(got_values[i]), std::bit_cast<uint32_t>(want.values[i]))
        << "row " << i / c.k << " slot " << i % c.k;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TopKTest,
                         ::testing::Values(Case{1, 1, 1, false}, Case{5, 60, 4, false},
                                           Case{5, 60, 4, true}, Case{7, 64, 8, true},
                                           Case{3, 64, 64, true}, Case{4, 160, 6, false},
                                           Case{2, 257, 1, true}, Case{2, 257, 257, true},
                                           Case{3, 1000, 17, true}, Case{2, 2500, 2500, true},
                                           Case{1, 4096, 64, false}, Case{2, 4096, 4096, true},
                                           Case{300, 8, 2, true}));

// Every entry equal: the indices come back in order.
TEST_F(TopKTest, AllEqualGivesFirstIndices) {
  const uint32_t cols = 70, k = 10;
  GuardedBuffer gx(context(), stream(), cols, "x");
  GuardedBuffer values(context(), stream(), k, "values");
  GuardedBuffer indices(context(), stream(), k, "indices");
  gx.write(stream(), std::vector<float>(cols, 0.25f));
  ops::topk(stream(), gx.span(), values.span(), indices.span(), 1, cols, k);
  const std::vector<float> words = indices.read(stream());
  for (uint32_t i = 0; i < k; ++i) EXPECT_EQ(std::bit_cast<uint32_t>(words[i]), i);
  EXPECT_EQ(values.read(stream()), std::vector<float>(k, 0.25f));
}

TEST_F(TopKTest, RejectsBadK) {
  GuardedBuffer gx(context(), stream(), 16, "x");
  GuardedBuffer values(context(), stream(), 16, "values");
  GuardedBuffer indices(context(), stream(), 16, "indices");
  EXPECT_THROW(ops::topk(stream(), gx.span(), values.span(), indices.span(), 2, 8, 0), Error);
  EXPECT_THROW(ops::topk(stream(), gx.span(), values.span(), indices.span(), 2, 8, 9), Error);
  EXPECT_THROW(ops::topk(stream(), gx.span(), values.span(), indices.span(), 3, 8, 2), Error);
  EXPECT_THROW(ops::topk(stream(), gx.span(), values.span(), values.span(), 2, 8, 2), Error);
  EXPECT_THROW(ops::topk(stream(), gx.span(), values.span(), indices.span(), 0, 40000, 2), Error);
}

}  // namespace
}  // namespace vkmoe::test
