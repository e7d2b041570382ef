#include "engine/bayes/kron_posterior.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

// A tiny expert: G (H×H) and A (I×I) Gram matrices of exact ranks r_G, r_A, kept at those ranks
// so that the low-rank posterior is the dense one exactly.
struct TinyExpert {
  dense::Matrix g, a;
  KronExpertFactors factors;
};

TinyExpert tiny_expert(std::int64_t h, std::int64_t i, std::int64_t rg, std::int64_t ra,
                       double tokens, std::uint64_t seed) {
  TinyExpert e;
  e.g = dense::gram(dense::gaussian(h, rg, seed));
  e.a = dense::gram(dense::gaussian(i, ra, seed + 1));
  e.factors.g = symmetric_eigen_top(e.g.data, h, rg);
  e.factors.a = symmetric_eigen_top(e.a.data, i, ra);
  e.factors.tokens = tokens;
  return e;
}

// P = (A ⊗ G)/(M·T) + λI, built explicitly.
dense::Matrix dense_precision(const TinyExpert& e, const PosteriorScale& s) {
  const double m = e.factors.tokens;
  dense::Matrix p = dense::kron(e.a, e.g);
  for (double& x : p.data) x = m > 0 ? x / (m * s.temperature) : 0.0;
  return dense::add(p, dense::identity(p.rows), s.prior_precision);
}

struct Case {
  std::int64_t h, i, rg, ra;
  double tokens, lambda, temperature;
};

const Case kCases[] = {
    {4, 5, 2, 3, 7, 0.5, 1.0},    // low rank on both sides
    {3, 3, 3, 3, 2, 2.0, 0.7},    // full rank
    {6, 2, 1, 2, 40, 1e-3, 1.5},  // small λ: curvature dominates
    {5, 4, 2, 2, 0, 3.0, 1.0},    // an expert no token reached: the prior alone
};

TEST(KronPosterior, LogDetMatchesDenseCholesky) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.h * 100 + c.i);
    const TinyExpert e = tiny_expert(c.h, c.i, c.rg, c.ra, c.tokens, 9);
    const PosteriorScale s{c.lambda, c.temperature};
    const double reference = dense::log_det_spd(dense_precision(e, s));
    EXPECT_NEAR(log_det_precision(e.factors, s), reference, 1e-10 * std::fabs(reference) + 1e-10);
  }
}

// Applying the sampling formula to every unit Z gives the matrix L with vec(ΔW) = L vec(Z);
// then Cov(ΔW) = L Lᵀ must be P⁻¹.
TEST(KronPosterior, SamplingScaleGivesCovarianceInversePrecision) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.h * 100 + c.i);
    const TinyExpert e = tiny_expert(c.h, c.i, c.rg, c.ra, c.tokens, 4);
    const PosteriorScale s{c.lambda, c.temperature};
    const std::vector<double> scale = sampling_scale(e.factors, s);
    ASSERT_EQ(scale.size(), static_cast<std::size_t>(c.rg * c.ra));
    dense::Matrix qg(c.h, c.rg), qa(c.i, c.ra);
    qg.data = e.factors.g.vectors;
    qa.data = e.factors.a.vectors;
    const std::int64_t d = c.h * c.i;
    dense::Matrix l(d, d);
    for (std::int64_t col = 0; col < d; ++col) {
      dense::Matrix z(c.h, c.i);
      z(col % c.h, col / c.h) = 1.0;  // vec index i·H + h
      dense::Matrix core = dense::multiply(dense::multiply(dense::transpose(qg), z), qa);
      for (std::int64_t k = 0; k < c.rg * c.ra; ++k) core.data[k] *= scale[k];
      const dense::Matrix low = dense::multiply(dense::multiply(qg, core), dense::transpose(qa));
      const dense::Matrix dw = dense::add(low, z, 1.0 / std::sqrt(c.lambda));
      const std::vector<double> v = dense::vec(dw);
      for (std::int64_t row = 0; row < d; ++row) l(row, col) = v[row];
    }
    const dense::Matrix cov = dense::multiply(l, dense::transpose(l));
    const dense::Matrix inverse = dense::inverse_spd(dense_precision(e, s));
    EXPECT_LT(dense::max_abs(dense::add(cov, inverse, -1.0)), 1e-10 * dense::max_abs(inverse));
  }
}

TEST(KronPosterior, PredictiveCovarianceMatchesDenseSolve) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.h * 100 + c.i);
    const TinyExpert e = tiny_expert(c.h, c.i, c.rg, c.ra, c.tokens, 17);
    const PosteriorScale s{c.lambda, c.temperature};
    // two logits' J = Σ_t g_t a_tᵀ over 3 and 2 tokens
    const dense::Matrix g1 = dense::gaussian(3, c.h, 1), a1 = dense::gaussian(3, c.i, 2);
    const dense::Matrix g2 = dense::gaussian(2, c.h, 3), a2 = dense::gaussian(2, c.i, 4);
    const OuterProductSum j1{g1.data, a1.data, 3}, j2{g2.data, a2.data, 2};
    const dense::Matrix dense_j1 = dense::multiply(dense::transpose(g1), a1);
    const dense::Matrix dense_j2 = dense::multiply(dense::transpose(g2), a2);
    const dense::Matrix p = dense_precision(e, s);
    const std::vector<double> v1 = dense::vec(dense_j1), v2 = dense::vec(dense_j2);
    const std::vector<double> p_inv_v2 = dense::solve_spd(p, v2),
                              p_inv_v1 = dense::solve_spd(p, v1);
    double cov = 0, var = 0;
    for (std::size_t k = 0; k < v1.size(); ++k) {
      cov += v1[k] * p_inv_v2[k];
      var += v1[k] * p_inv_v1[k];
    }
    EXPECT_NEAR(posterior_covariance(e.factors, s, j1, j2), cov, 1e-10 * std::fabs(var));
    EXPECT_NEAR(posterior_variance(e.factors, s, j1), var, 1e-10 * var);
    // the curvature only lowers the variance below the prior's ‖J‖²/λ
    EXPECT_LE(var,
              dense::frobenius(dense_j1) * dense::frobenius(dense_j1) / c.lambda * (1 + 1e-12));
  }
}

TEST(KronPosterior, SquaredDistanceToPriorMean) {
  const std::vector<float> w = {1.0f, -2.0f, 0.5f};
  EXPECT_DOUBLE_EQ(squared_distance_to_prior_mean(w, PriorMean::kZero), 5.25);
  EXPECT_EQ(squared_distance_to_prior_mean(w, PriorMean::kMap), 0.0);
}

TEST(KronPosterior, NegativeRoundingEigenvaluesCountAsZero) {
  TinyExpert e = tiny_expert(3, 3, 2, 2, 5, 8);
  KronExpertFactors clipped = e.factors;
  clipped.a.values[1] = -1e-14;
  KronExpertFactors zeroed = e.factors;
  zeroed.a.values[1] = 0.0;
  const PosteriorScale s{1e-12, 1.0};
  EXPECT_EQ(log_det_precision(clipped, s), log_det_precision(zeroed, s));
}

TEST(KronPosterior, RejectsBadShapesAndScales) {
  const TinyExpert e = tiny_expert(3, 4, 2, 2, 5, 8);
  EXPECT_THROW(log_det_precision(e.factors, {0.0, 1.0}), BayesError);
  EXPECT_THROW(log_det_precision(e.factors, {1.0, -1.0}), BayesError);
  KronExpertFactors bad = e.factors;
  bad.g.vectors.pop_back();
  EXPECT_THROW(log_det_precision(bad, {1.0, 1.0}), BayesError);
  bad = e.factors;
  bad.tokens = -1;
  EXPECT_THROW(sampling_scale(bad, {1.0, 1.0}), BayesError);
  const std::vector<double> g(3), a(5);  // a should hold 4 values
  EXPECT_THROW(posterior_variance(e.factors, {1.0, 1.0}, {g, a, 1}), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
