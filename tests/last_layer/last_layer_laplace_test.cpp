// The last-layer Laplace baseline (engine/bayes/last_layer_laplace.h) against dense references
// written here and in tests/bayes/dense_reference.h (explicit Kronecker products, Cholesky
// log-determinants and solves; no eigendecomposition), on random problems of C = 3..5 classes,
// hidden size H = 4..8 and 20 items: the curvature, the evidence at several λ and its
// maximiser, the logit covariance, the probit closed form, the MC path's seeds, bad input.
#include "engine/bayes/last_layer_laplace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/last_layer_curvature.h"
#include "tests/bayes/dense_reference.h"

namespace vkmoe::bayes {
namespace {

struct Problem {
  std::int64_t classes = 0, hidden = 0;
  std::vector<double> head;  // W [C, H]
  std::vector<eval::AnswerFeatures> items;
};

// Items with Gaussian features and logits W φ, answers drawn from the model's own softmax so
// the log-likelihood is that of a plausible MAP.
Problem random_problem(std::int64_t classes, std::int64_t hidden, int count, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Problem p{classes, hidden, {}, {}};
  for (std::int64_t i = 0; i < classes * hidden; ++i) p.head.push_back(0.6 * normal(rng));
  for (int n = 0; n < count; ++n) {
    eval::AnswerFeatures a;
    a.id = "item" + std::to_string(n);
    for (std::int64_t h = 0; h < hidden; ++h) a.hidden.push_back(normal(rng));
    for (std::int64_t c = 0; c < classes; ++c) {
      double z = 0;
      for (std::int64_t h = 0; h < hidden; ++h) z += p.head[c * hidden + h] * a.hidden[h];
      a.logits.push_back(z);
      a.label_tokens.push_back(static_cast<TokenId>(100 + 7 * c));
    }
    a.answer = static_cast<int>(rng() % static_cast<std::uint64_t>(classes));
    p.items.push_back(std::move(a));
  }
  return p;
}

std::vector<double> softmax(const std::vector<double>& z) {
  double top = z[0], sum = 0;
  for (double v : z) top = std::max(top, v);
  std::vector<double> out;
  for (double v : z) sum += std::exp(v - top);
  for (double v : z) out.push_back(std::exp(v - top) / sum);
  return out;
}

// Σ_n kron(diag p − p pᵀ, φ φᵀ) / T, built block by block with dense::kron.
dense::Matrix reference_curvature(const Problem& p, double temperature) {
  const std::int64_t d = p.classes * p.hidden;
  dense::Matrix total(d, d);
  for (const eval::AnswerFeatures& a : p.items) {
    const std::vector<double> prob = softmax(a.logits);
    dense::Matrix b(p.classes, p.classes), outer(p.hidden, p.hidden);
    for (std::int64_t c = 0; c < p.classes; ++c)
      for (std::int64_t e = 0; e < p.classes; ++e)
        b(c, e) = (c == e ? prob[c] : 0) - prob[c] * prob[e];
    for (std::int64_t i = 0; i < p.hidden; ++i)
      for (std::int64_t j = 0; j < p.hidden; ++j) outer(i, j) = a.hidden[i] * a.hidden[j];
    total = dense::add(total, dense::kron(b, outer));
  }
  for (double& v : total.data) v /= temperature;
  return total;
}

double reference_log_likelihood(const Problem& p) {
  double ll = 0;
  for (const eval::AnswerFeatures& a : p.items) ll += std::log(softmax(a.logits)[a.answer]);
  return ll;
}

double reference_evidence(const Problem& p, const dense::Matrix& curvature, double lambda) {
  double norm = 0;
  for (double w : p.head) norm += w * w;
  const auto d = static_cast<double>(curvature.rows);
  return reference_log_likelihood(p) - 0.5 * lambda * norm + 0.5 * d * std::log(lambda) -
         0.5 * dense::log_det_spd(dense::add(curvature, dense::identity(curvature.rows), lambda));
}

// Golden section over log λ on the dense evidence, bracket [e⁻²⁵, e²⁵].
double reference_maximiser(const Problem& p, const dense::Matrix& curvature) {
  const double r = (std::sqrt(5.0) - 1) / 2;
  double lo = -25, hi = 25;
  auto f = [&](double t) { return reference_evidence(p, curvature, std::exp(t)); };
  double x1 = hi - r * (hi - lo), x2 = lo + r * (hi - lo), f1 = f(x1), f2 = f(x2);
  while (hi - lo > 1e-10) {
    if (f1 < f2) {
      lo = x1, x1 = x2, f1 = f2, x2 = lo + r * (hi - lo), f2 = f(x2);
    } else {
      hi = x2, x2 = x1, f2 = f1, x1 = hi - r * (hi - lo), f1 = f(x1);
    }
  }
  return std::exp(0.5 * (lo + hi));
}

// Φ (H + λI)⁻¹ Φᵀ with Φ = I_C ⊗ φᵀ written out as a C×D matrix.
dense::Matrix reference_logit_covariance(const Problem& p, const dense::Matrix& curvature,
                                         double lambda, const std::vector<double>& phi) {
  const std::int64_t d = p.classes * p.hidden;
  dense::Matrix jac(p.classes, d);
  for (std::int64_t c = 0; c < p.classes; ++c)
    for (std::int64_t h = 0; h < p.hidden; ++h) jac(c, c * p.hidden + h) = phi[h];
  const dense::Matrix inverse =
      dense::inverse_spd(dense::add(curvature, dense::identity(d), lambda));
  return dense::multiply(dense::multiply(jac, inverse), dense::transpose(jac));
}

struct Shape {
  std::int64_t classes, hidden;
  double temperature;
};

class LastLayerDense : public ::testing::TestWithParam<Shape> {};

TEST_P(LastLayerDense, CurvatureEvidenceMaximiserAndCovariance) {
  const Shape s = GetParam();
  const Problem p =
      random_problem(s.classes, s.hidden, 20, static_cast<unsigned>(s.classes * 10 + s.hidden));
  const dense::Matrix curvature = reference_curvature(p, s.temperature);
  const double scale = dense::max_abs(curvature);

  // The GGN on its own, and as the posterior's eigenpairs Q diag(h) Qᵀ.
  std::vector<double> features, probabilities;
  for (const eval::AnswerFeatures& a : p.items) {
    features.insert(features.end(), a.hidden.begin(), a.hidden.end());
    const std::vector<double> prob = softmax(a.logits);
    probabilities.insert(probabilities.end(), prob.begin(), prob.end());
  }
  const std::vector<double> ggn = softmax_ggn(features, probabilities, 20, s.classes, s.hidden);
  for (std::size_t i = 0; i < ggn.size(); ++i) {
    ASSERT_NEAR(ggn[i] / s.temperature, curvature.data[i], 1e-12 * scale) << "entry " << i;
  }
  LastLayerLaplaceOptions fixed;
  fixed.prior_precision = 0.8;
  fixed.temperature = s.temperature;
  const LastLayerPosterior at_fixed = fit_last_layer_laplace(p.items, p.head, fixed);
  EXPECT_EQ(at_fixed.prior_precision, 0.8);
  const std::int64_t d = s.classes * s.hidden;
  dense::Matrix rebuilt(d, d);
  for (std::int64_t i = 0; i < d; ++i)
    for (std::int64_t j = 0; j < d; ++j)
      for (std::int64_t k = 0; k < d; ++k)
        rebuilt(i, j) += at_fixed.curvature.vector(i, k) * at_fixed.curvature.values[k] *
                         at_fixed.curvature.vector(j, k);
  EXPECT_LT(dense::max_abs(dense::add(rebuilt, curvature, -1.0)), 1e-10 * scale);
  EXPECT_NEAR(at_fixed.log_likelihood, reference_log_likelihood(p), 1e-10);

  // The evidence across six decades of λ.
  for (double lambda : {1e-3, 0.05, 0.8, 3.0, 40.0, 1e3}) {
    const double ref = reference_evidence(p, curvature, lambda);
    EXPECT_NEAR(last_layer_log_evidence(at_fixed, lambda), ref, 1e-9 * (1 + std::fabs(ref)))
        << "λ = " << lambda;
  }

  // λ by the evidence: the dense golden section's maximiser, and no λ does better.
  LastLayerLaplaceOptions by_evidence;
  by_evidence.temperature = s.temperature;
  const LastLayerPosterior fit = fit_last_layer_laplace(p.items, p.head, by_evidence);
  const double ref_lambda = reference_maximiser(p, curvature);
  // Golden section on a flat maximum is good to about √ε in log λ; the stationarity condition
  // is the sharp check: ½ D − ½ λ tr(P⁻¹) − ½ λ‖θ*‖² = 0 there (the derivative in log λ).
  EXPECT_NEAR(std::log(fit.prior_precision), std::log(ref_lambda), 1e-4);
  double norm = 0;
  for (double w : p.head) norm += w * w;
  const dense::Matrix inverse =
      dense::inverse_spd(dense::add(curvature, dense::identity(d), fit.prior_precision));
  double trace = 0;
  for (std::int64_t i = 0; i < d; ++i) trace += inverse(i, i);
  const double lam = fit.prior_precision;
  EXPECT_NEAR(0.5 * static_cast<double>(d) - 0.5 * lam * trace - 0.5 * lam * norm, 0.0,
              1e-8 * static_cast<double>(d));
  EXPECT_NEAR(fit.log_evidence, reference_evidence(p, curvature, fit.prior_precision),
              1e-9 * (1 + std::fabs(fit.log_evidence)));
  EXPECT_GE(fit.log_evidence, reference_evidence(p, curvature, ref_lambda) - 1e-9);
  for (double f : {0.9, 1.1}) {
    EXPECT_GT(fit.log_evidence, reference_evidence(p, curvature, f * fit.prior_precision));
  }

  // Logit covariance of a new point at the fitted λ, and the probit closed form on it.
  const Problem fresh = random_problem(s.classes, s.hidden, 1, 99);
  eval::AnswerFeatures item = fresh.items[0];
  item.label_tokens = p.items[0].label_tokens;
  const dense::Matrix sigma_ref =
      reference_logit_covariance(p, curvature, fit.prior_precision, item.hidden);
  const std::vector<double> sigma = last_layer_logit_covariance(fit, item.hidden);
  ASSERT_EQ(sigma.size(), sigma_ref.data.size());
  for (std::size_t i = 0; i < sigma.size(); ++i) {
    EXPECT_NEAR(sigma[i], sigma_ref.data[i], 1e-10 * dense::max_abs(sigma_ref)) << "entry " << i;
  }
  PredictiveOptions probit;
  probit.method = LogitIntegration::kProbit;
  std::vector<double> scaled;
  for (std::int64_t c = 0; c < s.classes; ++c) {
    scaled.push_back(item.logits[c] / std::sqrt(1 + std::numbers::pi / 8 * sigma_ref(c, c)));
  }
  const std::vector<double> expected = softmax(scaled);
  const std::vector<double> got = last_layer_predictive(fit, item, probit);
  for (std::int64_t c = 0; c < s.classes; ++c) EXPECT_NEAR(got[c], expected[c], 1e-10);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LastLayerDense,
                         ::testing::Values(Shape{3, 4, 1.0}, Shape{4, 6, 1.0}, Shape{5, 8, 2.5},
                                           Shape{4, 5, 0.5}));

TEST(LastLayerLaplace, MonteCarloRepeatsWithTheSeedAndVariesWithTheIndex) {
  const Problem p = random_problem(4, 5, 20, 3);
  const LastLayerPosterior fit = fit_last_layer_laplace(p.items, p.head, {});
  PredictiveOptions mc;
  mc.samples = 200;
  mc.seed = 11;
  const std::vector<double> a = last_layer_predictive(fit, p.items[2], mc, 5);
  EXPECT_EQ(a, last_layer_predictive(fit, p.items[2], mc, 5));
  EXPECT_NE(a, last_layer_predictive(fit, p.items[2], mc, 6));
  mc.seed = 12;
  EXPECT_NE(a, last_layer_predictive(fit, p.items[2], mc, 5));
  double sum = 0;
  for (double v : a) sum += v;
  EXPECT_NEAR(sum, 1.0, 1e-12);
}

TEST(LastLayerLaplace, RefusesBadInput) {
  const Problem p = random_problem(3, 4, 20, 5);
  EXPECT_THROW(fit_last_layer_laplace({}, p.head, {}), BayesError);
  std::vector<eval::AnswerFeatures> other = p.items;
  other[7].label_tokens[1] = 5;
  try {
    fit_last_layer_laplace(other, p.head, {});
    ADD_FAILURE() << "mismatched label tokens were accepted";
  } catch (const BayesError& e) {
    EXPECT_NE(std::string(e.what()).find("item7"), std::string::npos) << e.what();
  }
  other = p.items;
  other[3].hidden[2] = std::nan("");
  EXPECT_THROW(fit_last_layer_laplace(other, p.head, {}), BayesError);
  other = p.items;
  other[4].logits[0] = INFINITY;
  EXPECT_THROW(fit_last_layer_laplace(other, p.head, {}), BayesError);
  other = p.items;
  other[5].answer = 3;
  EXPECT_THROW(fit_last_layer_laplace(other, p.head, {}), BayesError);
  EXPECT_THROW(fit_last_layer_laplace(p.items, std::span(p.head).first(11), {}), BayesError);
  const std::vector<double> zeros(p.head.size(), 0.0);
  EXPECT_THROW(fit_last_layer_laplace(p.items, zeros, {}), BayesError);  // no evidence maximum
  LastLayerLaplaceOptions bad;
  bad.prior_precision = -1.0;
  EXPECT_THROW(fit_last_layer_laplace(p.items, p.head, bad), BayesError);
  bad = {};
  bad.temperature = 0;
  EXPECT_THROW(fit_last_layer_laplace(p.items, p.head, bad), BayesError);

  const LastLayerPosterior fit = fit_last_layer_laplace(p.items, p.head, {});
  eval::AnswerFeatures item = p.items[0];
  item.label_tokens = {1, 2, 3};
  EXPECT_THROW(last_layer_predictive(fit, item, {}), BayesError);
  item = p.items[0];
  item.hidden.push_back(1.0);
  EXPECT_THROW(last_layer_predictive(fit, item, {}), BayesError);
  item = p.items[0];
  item.hidden[0] = INFINITY;
  EXPECT_THROW(last_layer_predictive(fit, item, {}), BayesError);
}

}  // namespace
}  // namespace vkmoe::bayes
