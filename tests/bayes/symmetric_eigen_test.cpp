#include "engine/bayes/symmetric_eigen.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

dense::Matrix eigenvectors(const EigenPairs& e) {
  dense::Matrix q(e.n, e.count());
  q.data = e.vectors;
  return q;
}

// ‖Q Λ Qᵀ − S‖_F / ‖S‖_F and ‖QᵀQ − I‖_max for a full decomposition.
void expect_decomposes(const dense::Matrix& s, const EigenPairs& e, double tolerance) {
  ASSERT_EQ(e.count(), s.rows);
  const dense::Matrix q = eigenvectors(e);
  const dense::Matrix rebuilt = dense::with_spectrum(q, e.values);
  const double scale = std::max(dense::frobenius(s), 1.0);
  EXPECT_LT(dense::frobenius(dense::add(rebuilt, s, -1.0)) / scale, tolerance);
  const dense::Matrix qtq = dense::multiply(dense::transpose(q), q);
  EXPECT_LT(dense::max_abs(dense::add(qtq, dense::identity(s.rows), -1.0)), tolerance);
  for (std::int64_t j = 1; j < e.count(); ++j) {
    EXPECT_GE(e.values[j - 1], e.values[j]);
  }
}

dense::Matrix random_symmetric(std::int64_t n, std::uint64_t seed) {
  const dense::Matrix x = dense::gaussian(n, n, seed);
  return dense::add(x, dense::transpose(x));
}

TEST(SymmetricEigen, TwoByTwo) {
  const std::vector<double> s = {2, 1, 1, 2};
  const EigenPairs e = symmetric_eigen(s, 2);
  EXPECT_NEAR(e.values[0], 3.0, 1e-14);
  EXPECT_NEAR(e.values[1], 1.0, 1e-14);
  EXPECT_NEAR(std::fabs(e.vector(0, 0)), std::sqrt(0.5), 1e-14);
  EXPECT_NEAR(e.vector(0, 0), e.vector(1, 0), 1e-14);   // (1, 1)/√2
  EXPECT_NEAR(e.vector(0, 1), -e.vector(1, 1), 1e-14);  // (1, −1)/√2
}

TEST(SymmetricEigen, DiagonalIsSortedDescending) {
  const std::vector<double> s = {1, 0, 0, 0, -4, 0, 0, 0, 7};
  const EigenPairs e = symmetric_eigen(s, 3);
  EXPECT_EQ(e.values, (std::vector<double>{7, 1, -4}));
  EXPECT_EQ(std::fabs(e.vector(2, 0)), 1.0);
  EXPECT_EQ(std::fabs(e.vector(0, 1)), 1.0);
  EXPECT_EQ(std::fabs(e.vector(1, 2)), 1.0);
}

TEST(SymmetricEigen, OneByOneAndZeroMatrix) {
  const EigenPairs one = symmetric_eigen(std::vector<double>{-2.5}, 1);
  EXPECT_EQ(one.values, std::vector<double>{-2.5});
  EXPECT_EQ(std::fabs(one.vectors[0]), 1.0);
  const dense::Matrix zero(6, 6);
  const EigenPairs e = symmetric_eigen(zero.data, 6);
  for (double v : e.values) EXPECT_EQ(v, 0.0);
  expect_decomposes(zero, e, 1e-15);
}

// The second-difference matrix tridiag(−1, 2, −1): λ_k = 2 − 2cos(kπ/(n+1)).
TEST(SymmetricEigen, SecondDifferenceMatrixHasKnownSpectrum) {
  const std::int64_t n = 40;
  dense::Matrix s(n, n);
  for (std::int64_t i = 0; i < n; ++i) {
    s(i, i) = 2;
    if (i + 1 < n) s(i, i + 1) = s(i + 1, i) = -1;
  }
  const EigenPairs e = symmetric_eigen(s.data, n);
  for (std::int64_t j = 0; j < n; ++j) {
    const double k = static_cast<double>(n - j);  // descending
    EXPECT_NEAR(e.values[j],
                2.0 - 2.0 * std::cos(k * std::numbers::pi / static_cast<double>(n + 1)), 1e-13);
  }
  expect_decomposes(s, e, 1e-13);
}

TEST(SymmetricEigen, RecoversAPlantedSpectrumAndItsVectors) {
  const std::int64_t n = 12;
  const dense::Matrix q = dense::orthonormal_columns(n, n, 7);
  std::vector<double> values;
  for (std::int64_t k = 0; k < n; ++k) values.push_back(10.0 - 1.5 * static_cast<double>(k));
  const dense::Matrix s = dense::with_spectrum(q, values);
  const EigenPairs e = symmetric_eigen(s.data, n);
  for (std::int64_t k = 0; k < n; ++k) {
    EXPECT_NEAR(e.values[k], values[k], 1e-12);
    double dot = 0;
    for (std::int64_t i = 0; i < n; ++i) dot += e.vector(i, k) * q(i, k);
    EXPECT_NEAR(std::fabs(dot), 1.0, 1e-12) << "eigenvector " << k;
  }
}

TEST(SymmetricEigen, RepeatedEigenvaluesStillGiveAnOrthonormalBasis) {
  const std::int64_t n = 9;
  const dense::Matrix q = dense::orthonormal_columns(n, n, 11);
  const dense::Matrix s = dense::with_spectrum(q, {5, 5, 5, 5, 1, 1, 1, 0, 0});
  const EigenPairs e = symmetric_eigen(s.data, n);
  EXPECT_NEAR(e.values[0], 5, 1e-13);
  EXPECT_NEAR(e.values[3], 5, 1e-13);
  EXPECT_NEAR(e.values[6], 1, 1e-13);
  EXPECT_NEAR(e.values[8], 0, 1e-13);
  expect_decomposes(s, e, 1e-13);
}

TEST(SymmetricEigen, RandomMatricesUpTo512Reconstruct) {
  for (std::int64_t n : {2, 3, 17, 64, 200, 512}) {
    SCOPED_TRACE(n);
    const dense::Matrix s = random_symmetric(n, 100 + static_cast<std::uint64_t>(n));
    expect_decomposes(s, symmetric_eigen(s.data, n), 1e-12);
  }
}

TEST(SymmetricEigen, GramMatrixOfLowRankHasZeroTail) {
  const std::int64_t n = 30, rank = 4;
  const dense::Matrix s = dense::gram(dense::gaussian(n, rank, 5));
  const EigenPairs e = symmetric_eigen(s.data, n);
  EXPECT_GT(e.values[rank - 1], 1.0);
  for (std::int64_t k = rank; k < n; ++k) {
    EXPECT_NEAR(e.values[k], 0.0, 1e-12 * e.values[0]);
  }
  expect_decomposes(s, e, 1e-13);
}

// Top-r pairs (inverse iteration once 4r ≤ n): the r largest eigenvalues of the full
// decomposition, orthonormal vectors, and small residuals ‖S q − λ q‖.
void expect_top_pairs(const dense::Matrix& s, std::int64_t r, double tolerance) {
  const std::int64_t n = s.rows;
  const EigenPairs full = symmetric_eigen(s.data, n);
  const EigenPairs top = symmetric_eigen_top(s.data, n, r);
  ASSERT_EQ(top.count(), r);
  ASSERT_EQ(top.vectors.size(), static_cast<std::size_t>(n * r));
  const double scale = std::max(std::fabs(full.values[0]), std::fabs(full.values[n - 1]));
  for (std::int64_t j = 0; j < r; ++j) {
    EXPECT_NEAR(top.values[j], full.values[j], tolerance * scale) << "eigenvalue " << j;
  }
  const dense::Matrix q = eigenvectors(top);
  const dense::Matrix qtq = dense::multiply(dense::transpose(q), q);
  EXPECT_LT(dense::max_abs(dense::add(qtq, dense::identity(r), -1.0)), tolerance);
  const dense::Matrix sq = dense::multiply(s, q);
  for (std::int64_t j = 0; j < r; ++j) {
    double residual = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      residual = std::max(residual, std::fabs(sq(i, j) - top.values[j] * q(i, j)));
    }
    EXPECT_LT(residual, tolerance * scale) << "eigenpair " << j;
  }
}

TEST(SymmetricEigen, TopRIsTheLeadingPartOfTheFullDecomposition) {
  expect_top_pairs(random_symmetric(50, 3), 6, 1e-12);    // inverse iteration
  expect_top_pairs(random_symmetric(50, 4), 20, 1e-12);   // full decomposition
  expect_top_pairs(random_symmetric(512, 6), 32, 1e-11);  // G-sized rank, inverse iteration
}

TEST(SymmetricEigen, TopRThroughAClusterOfEqualEigenvalues) {
  const std::int64_t n = 24;
  const dense::Matrix q = dense::orthonormal_columns(n, n, 13);
  std::vector<double> values(n, 0.5);
  for (int k = 0; k < 4; ++k) values[k] = 5.0;  // r = 3 cuts through the fourfold 5
  expect_top_pairs(dense::with_spectrum(q, values), 3, 1e-12);
  // a Gram matrix of rank 3 at r = 6: three vectors from the zero eigenspace
  expect_top_pairs(dense::gram(dense::gaussian(n, 3, 14)), 6, 1e-12);
}

TEST(SymmetricEigen, TopRMatchesTheFullVectorsUpToSign) {
  const std::int64_t n = 40, r = 5;
  const dense::Matrix s = random_symmetric(n, 8);
  const EigenPairs full = symmetric_eigen(s.data, n);
  const EigenPairs top = symmetric_eigen_top(s.data, n, r);
  for (std::int64_t j = 0; j < r; ++j) {
    double dot = 0;
    for (std::int64_t i = 0; i < n; ++i) dot += top.vector(i, j) * full.vector(i, j);
    EXPECT_NEAR(std::fabs(dot), 1.0, 1e-12) << "eigenvector " << j;
  }
}

// A rank-deficient Gram matrix (as a KFAC factor merge gives: the stored rank-r part plus a
// chunk of a few tokens): 60 zero eigenvalues whose tridiagonal entries are rounding noise.
// Convergence must be judged against the matrix's norm, not those zero diagonals alone.
TEST(SymmetricEigen, ClusterOfZeroEigenvaluesConverges) {
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const std::int64_t n = 64;
    dense::Matrix s = dense::gram(dense::gaussian(n, 4, seed));
    for (double& x : s.data) x *= 1e-3;
    const EigenPairs top = symmetric_eigen_top(s.data, n, 4);
    const EigenPairs all = symmetric_eigen(s.data, n);
    for (std::int64_t j = 0; j < 4; ++j) {
      EXPECT_NEAR(top.values[j], all.values[j], 1e-12 * all.values[0]) << "seed " << seed;
    }
    EXPECT_NEAR(all.values[4], 0.0, 1e-12 * all.values[0]) << "seed " << seed;
  }
}

TEST(SymmetricEigen, RejectsBadInput) {
  EXPECT_THROW(symmetric_eigen(std::vector<double>(5), 2), BayesError);
  EXPECT_THROW(symmetric_eigen(std::vector<double>{1, NAN, NAN, 1}, 2), BayesError);
  EXPECT_THROW(symmetric_eigen_top(std::vector<double>(4), 2, 3), BayesError);
  try {
    symmetric_eigen(std::vector<double>(5), 2);
  } catch (const BayesError& e) {
    EXPECT_STREQ(e.what(), "symmetric_eigen: matrix has 5 entries, expected n·n with n = 2");
  }
}

}  // namespace
}  // namespace vkmoe::bayes
