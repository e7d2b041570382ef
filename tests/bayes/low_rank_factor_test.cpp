#include "engine/bayes/low_rank_factor.h"

#include <gtest/gtest.h>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

// The Gram matrix of columns [first, first + count) of x: one streamed chunk of tokens.
dense::Matrix chunk_of(const dense::Matrix& x, std::int64_t first, std::int64_t count) {
  dense::Matrix part(x.rows, count);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < count; ++j) part(i, j) = x(i, first + j);
  return dense::gram(part);
}

dense::Matrix as_matrix(const std::vector<double>& data, std::int64_t n) {
  dense::Matrix m(n, n);
  m.data = data;
  return m;
}

double trace(const dense::Matrix& m) {
  double t = 0;
  for (std::int64_t i = 0; i < m.rows; ++i) t += m(i, i);
  return t;
}

TEST(LowRankFactor, StartsEmpty) {
  const LowRankFactor f(5, 3);
  EXPECT_EQ(f.pairs().count(), 0);
  EXPECT_EQ(f.chunks(), 0);
  EXPECT_EQ(f.dropped_mass(), 0.0);
  for (double x : f.dense()) EXPECT_EQ(x, 0.0);
}

TEST(LowRankFactor, StreamingIsExactWhenTheTotalFitsTheRank) {
  const std::int64_t n = 24, rank = 6;
  const dense::Matrix tokens = dense::gaussian(n, 5, 21);  // total rank 5 ≤ 6
  LowRankFactor f(n, rank);
  dense::Matrix truth(n, n);
  for (std::int64_t first = 0; first < 5; first += 2) {
    const dense::Matrix c = chunk_of(tokens, first, std::min<std::int64_t>(2, 5 - first));
    truth = dense::add(truth, c);
    f.add_chunk(c.data);
  }
  EXPECT_EQ(f.chunks(), 3);
  EXPECT_EQ(f.pairs().count(), rank);
  const dense::Matrix streamed = as_matrix(f.dense(), n);
  EXPECT_LT(dense::frobenius(dense::add(streamed, truth, -1.0)), 1e-12 * dense::frobenius(truth));
  EXPECT_NEAR(f.dropped_mass(), 0.0, 1e-12 * trace(truth));
  const EigenPairs direct = symmetric_eigen_top(truth.data, n, rank);
  for (std::int64_t k = 0; k < rank; ++k) {
    EXPECT_NEAR(f.pairs().values[k], direct.values[k], 1e-12 * direct.values[0]);
  }
}

// Full-rank total, rank-r factor: Σ chunks − stored is PSD with trace dropped_mass(), so
// ‖error‖_F ≤ dropped_mass() and, by Weyl, λ_k(stored) ≤ λ_k(total) ≤ λ_k(stored) + dropped.
TEST(LowRankFactor, TruncationErrorIsBoundedByTheDroppedMass) {
  const std::int64_t n = 20, rank = 4;
  dense::Matrix tokens = dense::gaussian(n, 60, 33);
  for (std::int64_t i = 0; i < n; ++i)  // a decaying spectrum, as activations have
    for (std::int64_t j = 0; j < 60; ++j) tokens(i, j) *= std::pow(0.7, static_cast<double>(i));
  LowRankFactor f(n, rank);
  dense::Matrix truth(n, n);
  for (std::int64_t first = 0; first < 60; first += 10) {
    const dense::Matrix c = chunk_of(tokens, first, 10);
    truth = dense::add(truth, c);
    f.add_chunk(c.data);
  }
  const dense::Matrix streamed = as_matrix(f.dense(), n);
  const double dropped = f.dropped_mass();
  EXPECT_GT(dropped, 0.0);
  EXPECT_NEAR(trace(streamed) + dropped, trace(truth), 1e-10 * trace(truth));
  EXPECT_LE(dense::frobenius(dense::add(truth, streamed, -1.0)), dropped * (1 + 1e-10));
  const EigenPairs exact = symmetric_eigen_top(truth.data, n, rank);
  for (std::int64_t k = 0; k < rank; ++k) {
    EXPECT_LE(f.pairs().values[k], exact.values[k] * (1 + 1e-12));
    EXPECT_LE(exact.values[k], f.pairs().values[k] + dropped * (1 + 1e-12));
  }
  // and the streamed leading direction is close to the true one for a decaying spectrum
  double dot = 0;
  for (std::int64_t i = 0; i < n; ++i) dot += f.pairs().vector(i, 0) * exact.vector(i, 0);
  EXPECT_GT(std::fabs(dot), 0.99);
}

TEST(LowRankFactor, FloatChunksAreMergedLikeDoubleOnes) {
  const std::int64_t n = 8;
  const dense::Matrix c = dense::gram(dense::gaussian(n, 3, 2));
  std::vector<float> narrow(c.data.begin(), c.data.end());
  std::vector<double> rounded(narrow.begin(), narrow.end());
  LowRankFactor a(n, 3), b(n, 3);
  a.add_chunk(std::span<const float>(narrow));
  b.add_chunk(std::span<const double>(rounded));
  EXPECT_EQ(a.pairs().values, b.pairs().values);
}

TEST(LowRankFactor, RankAboveSizeIsClampedAndBadInputRefused) {
  EXPECT_EQ(LowRankFactor(3, 32).rank(), 3);
  EXPECT_THROW(LowRankFactor(0, 2), BayesError);
  EXPECT_THROW(LowRankFactor(3, 0), BayesError);
  LowRankFactor f(3, 2);
  EXPECT_THROW(f.add_chunk(std::vector<double>(8)), BayesError);
  EXPECT_EQ(f.chunks(), 0);
}

}  // namespace
}  // namespace vkmoe::bayes
