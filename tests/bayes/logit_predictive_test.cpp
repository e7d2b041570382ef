#include "engine/bayes/logit_predictive.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "engine/bayes/bayes_error.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

std::vector<double> softmax(const std::vector<double>& z) {
  double sum = 0;
  std::vector<double> p;
  for (double x : z) sum += std::exp(x);
  for (double x : z) p.push_back(std::exp(x) / sum);
  return p;
}

struct ExpertCase {
  dense::Matrix g, a;
  KronExpertFactors factors;
  std::vector<dense::Matrix> grads, acts;  // per class: [tokens, H], [tokens, I]
};

ExpertCase expert_case(std::int64_t h, std::int64_t i, double tokens, std::uint64_t seed) {
  ExpertCase e;
  e.g = dense::gram(dense::gaussian(h, 2, seed));
  e.a = dense::gram(dense::gaussian(i, 2, seed + 1));
  e.factors.g = symmetric_eigen_top(e.g.data, h, 2);
  e.factors.a = symmetric_eigen_top(e.a.data, i, 2);
  e.factors.tokens = tokens;
  for (std::uint64_t c = 0; c < 3; ++c) {
    e.grads.push_back(dense::gaussian(2, h, seed + 10 + c));
    e.acts.push_back(dense::gaussian(2, i, seed + 20 + c));
  }
  return e;
}

TEST(LogitPredictive, CovarianceMatchesDenseKroneckerSolves) {
  const std::vector<ExpertCase> cases = {expert_case(3, 4, 6, 1), expert_case(4, 2, 3, 2)};
  const std::vector<double> lambdas = {0.7, 2.0};
  std::vector<ExpertLogitJacobians> jacobians;
  for (std::size_t e = 0; e < cases.size(); ++e) {
    ExpertLogitJacobians j{&cases[e].factors, {lambdas[e], 1.3}, {}};
    for (std::size_t c = 0; c < 3; ++c) {
      j.per_class.push_back({cases[e].grads[c].data, cases[e].acts[c].data, 2});
    }
    jacobians.push_back(j);
  }
  const std::vector<double> sigma = logit_covariance(jacobians, 3);
  dense::Matrix reference(3, 3);
  for (std::size_t e = 0; e < cases.size(); ++e) {
    const ExpertCase& x = cases[e];
    dense::Matrix p = dense::kron(x.a, x.g);
    for (double& v : p.data) v /= x.factors.tokens * 1.3;
    p = dense::add(p, dense::identity(p.rows), lambdas[e]);
    for (std::int64_t c = 0; c < 3; ++c) {
      const auto jc = dense::vec(dense::multiply(dense::transpose(x.grads[c]), x.acts[c]));
      for (std::int64_t d = 0; d < 3; ++d) {
        const auto jd = dense::vec(dense::multiply(dense::transpose(x.grads[d]), x.acts[d]));
        const std::vector<double> solved = dense::solve_spd(p, jd);
        for (std::size_t k = 0; k < jc.size(); ++k) reference(c, d) += jc[k] * solved[k];
      }
    }
  }
  for (std::size_t k = 0; k < 9; ++k) {
    EXPECT_NEAR(sigma[k], reference.data[k], 1e-10 * std::fabs(reference.data[0])) << k;
  }
}

TEST(LogitPredictive, ZeroCovarianceGivesTheMapSoftmax) {
  const std::vector<double> mean = {0.3, -1.2, 2.0}, zero(9, 0.0);
  for (LogitIntegration m : {LogitIntegration::kMonteCarlo, LogitIntegration::kProbit}) {
    const std::vector<double> p = predictive_probabilities(mean, zero, {m, 50, 1});
    const std::vector<double> expected = softmax(mean);
    for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(p[c], expected[c], 1e-14);
  }
}

// Two classes: p₀ = E[σ(z₀ − z₁)] with z₀ − z₁ ~ N(m, v), by trapezoid quadrature.
TEST(LogitPredictive, MonteCarloMatchesQuadratureForTwoClasses) {
  const std::vector<double> mean = {1.0, -0.5}, cov = {2.0, 0.3, 0.3, 0.5};
  const double m = 1.5, v = 2.0 + 0.5 - 0.6, sd = std::sqrt(v);
  const int steps = 20000;
  double exact = 0;
  for (int k = 0; k <= steps; ++k) {
    const double x = m - 12 * sd + 24 * sd * k / steps;
    const double w = (k == 0 || k == steps) ? 0.5 : 1.0;
    exact += w * std::exp(-0.5 * (x - m) * (x - m) / v) / std::sqrt(2 * std::numbers::pi * v) /
             (1 + std::exp(-x)) * (24 * sd / steps);
  }
  const std::vector<double> p =
      predictive_probabilities(mean, cov, {LogitIntegration::kMonteCarlo, 200000, 7});
  EXPECT_NEAR(p[0], exact, 0.004);
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-12);
  // uncertainty pulls the probability toward ½ compared with the MAP softmax
  EXPECT_LT(p[0], softmax(mean)[0]);
}

TEST(LogitPredictive, ProbitShrinksTowardUniformWithVariance) {
  const std::vector<double> mean = {2.0, 0.0, -1.0};
  double previous = softmax(mean)[0];
  for (double var : {0.5, 2.0, 8.0, 100.0}) {
    const std::vector<double> cov = {var, 0, 0, 0, var, 0, 0, 0, var};
    const std::vector<double> p = predictive_probabilities(mean, cov, {LogitIntegration::kProbit});
    EXPECT_NEAR(p[0] + p[1] + p[2], 1.0, 1e-14);
    EXPECT_LT(p[0], previous);
    EXPECT_GT(p[0], 1.0 / 3.0);
    previous = p[0];
  }
}

TEST(LogitPredictive, SeedReproducesAndSingularCovarianceIsFine) {
  const std::vector<double> mean = {0.1, 0.4, -0.3};
  const std::vector<double> cov = {1.0, 0.2, 0.0, 0.2, 0.5, 0.1, 0.0, 0.1, 0.8};
  const PredictiveOptions a{LogitIntegration::kMonteCarlo, 300, 42};
  EXPECT_EQ(predictive_probabilities(mean, cov, a), predictive_probabilities(mean, cov, a));
  EXPECT_NE(predictive_probabilities(mean, cov, a),
            predictive_probabilities(mean, cov, {LogitIntegration::kMonteCarlo, 300, 43}));
  // Σ = 3·11ᵀ shifts every logit by the same amount: softmax is unchanged
  const std::vector<double> shared(9, 3.0);
  const std::vector<double> p = predictive_probabilities(mean, shared, a);
  const std::vector<double> expected = softmax(mean);
  for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(p[c], expected[c], 1e-9);
}

TEST(LogitPredictive, RefusesBadInput) {
  EXPECT_THROW(predictive_probabilities(std::vector<double>{1, 2}, std::vector<double>(3), {}),
               BayesError);
  EXPECT_THROW(predictive_probabilities(std::vector<double>{}, std::vector<double>{}, {}),
               BayesError);
  EXPECT_THROW(predictive_probabilities(std::vector<double>{1}, std::vector<double>{1},
                                        {LogitIntegration::kMonteCarlo, 0, 0}),
               BayesError);
  const ExpertLogitJacobians missing{nullptr, {}, {}};
  EXPECT_THROW(logit_covariance(std::span(&missing, 1), 2), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
