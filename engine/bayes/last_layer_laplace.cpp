#include "engine/bayes/last_layer_laplace.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/last_layer_curvature.h"

namespace vkmoe::bayes {
namespace {

bool all_finite(std::span<const double> values) {
  return std::all_of(values.begin(), values.end(), [](double v) { return std::isfinite(v); });
}

std::string describe_tokens(std::span<const TokenId> tokens) {
  std::string out = "[";
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(tokens[i]);
  }
  return out + "]";
}

// Throws BayesError unless `item` has the posterior's label tokens and sizes and finite numbers.
void check_item(const eval::AnswerFeatures& item, std::span<const TokenId> label_tokens,
                std::int64_t hidden, const char* where) {
  const std::string name = std::string(where) + ": item '" + item.id + "'";
  if (!std::equal(item.label_tokens.begin(), item.label_tokens.end(), label_tokens.begin(),
                  label_tokens.end())) {
    throw BayesError(name + " has label tokens " + describe_tokens(item.label_tokens) +
                     " but the posterior is over " + describe_tokens(label_tokens) +
                     " (last-layer Laplace needs one label-token set for all items)");
  }
  if (item.logits.size() != label_tokens.size() ||
      item.hidden.size() != static_cast<std::size_t>(hidden)) {
    throw BayesError(name + " has " + std::to_string(item.logits.size()) + " logits and " +
                     std::to_string(item.hidden.size()) + " hidden values, expected " +
                     std::to_string(label_tokens.size()) + " and " + std::to_string(hidden));
  }
  if (!all_finite(item.logits) || !all_finite(item.hidden)) {
    throw BayesError(name + " has a logit or hidden value that is not finite");
  }
}

// The curvature's eigenvalues as the evidence uses them: rounding below zero counts as zero.
double curvature_value(const EigenPairs& curvature, std::size_t k) {
  return std::max(curvature.values[k], 0.0);
}

// d/d log λ of the log evidence: ½ Σ_k h_k/(h_k + λ) − ½ λ‖θ*‖². The first term falls from
// ½ rank(H) to 0 and the second rises from 0 without bound as λ grows, so the derivative
// changes sign exactly once: the evidence is unimodal in log λ.
double evidence_slope(const LastLayerPosterior& p, double lambda) {
  double fit = 0;
  for (std::size_t k = 0; k < p.curvature.values.size(); ++k) {
    const double h = curvature_value(p.curvature, k);
    fit += h / (h + lambda);
  }
  return 0.5 * fit - 0.5 * lambda * p.squared_norm;
}

// The maximiser over log λ. It exists when ‖θ*‖ > 0 (μ₀ = 0) and H ≠ 0: as λ → ∞ the
// −½λ‖θ*‖² term wins; as λ → 0 each curved direction's Occam factor ½ log(λ/(h_k + λ)) tends to
// −∞. The slope above vanishes where λ‖θ*‖² = Σ h_k/(h_k + λ) ≤ rank(H) ≤ D, so the maximum lies
// below D/‖θ*‖². A grid over log λ finds the cell, and bisection on the slope's sign (exact,
// since it changes sign once) refines it.
double maximise_evidence(const LastLayerPosterior& p) {
  constexpr int kGrid = 120;  // 10 points a decade over 12 decades
  const double decades12 = 12 * std::log(10.0);
  const double hi = std::log(static_cast<double>(p.classes * p.hidden) / p.squared_norm);
  double lo = hi - decades12;
  // A curvature of tiny eigenvalues puts the maximum further down: widen until the slope at
  // the bottom is positive (it tends to ½ rank(H) > 0 as λ → 0).
  for (int widen = 0; widen < 20 && evidence_slope(p, std::exp(lo)) <= 0; ++widen) lo -= decades12;
  int best = 0;
  double best_value = -INFINITY;
  for (int i = 0; i <= kGrid; ++i) {
    const double value = last_layer_log_evidence(p, std::exp(lo + (hi - lo) * i / kGrid));
    if (value > best_value) {
      best_value = value;
      best = i;
    }
  }
  double a = lo + (hi - lo) * std::max(best - 1, 0) / kGrid;
  double b = lo + (hi - lo) * std::min(best + 1, kGrid) / kGrid;
  while (b - a > 1e-12) {
    const double mid = 0.5 * (a + b);
    (evidence_slope(p, std::exp(mid)) > 0 ? a : b) = mid;
  }
  return std::exp(0.5 * (a + b));
}

}  // namespace

double last_layer_log_evidence(const LastLayerPosterior& posterior, double prior_precision) {
  if (!(prior_precision > 0) || !std::isfinite(prior_precision)) {
    throw BayesError("last_layer_log_evidence: prior precision " + std::to_string(prior_precision) +
                     " is not a number > 0");
  }
  double log_det = 0;
  for (std::size_t k = 0; k < posterior.curvature.values.size(); ++k) {
    log_det += std::log(curvature_value(posterior.curvature, k) + prior_precision);
  }
  const auto d = static_cast<double>(posterior.classes * posterior.hidden);
  return posterior.log_likelihood - 0.5 * prior_precision * posterior.squared_norm +
         0.5 * d * std::log(prior_precision) - 0.5 * log_det;
}

LastLayerPosterior fit_last_layer_laplace(std::span<const eval::AnswerFeatures> train,
                                          std::span<const double> head_rows,
                                          const LastLayerLaplaceOptions& options) {
  if (train.empty()) {
    throw BayesError(
        "fit_last_layer_laplace: the training set is empty (the curvature and the "
        "evidence need at least one item)");
  }
  if (!(options.temperature > 0) || !std::isfinite(options.temperature)) {
    throw BayesError("fit_last_layer_laplace: temperature " + std::to_string(options.temperature) +
                     " is not a number > 0");
  }
  if (options.prior_precision &&
      (!(*options.prior_precision > 0) || !std::isfinite(*options.prior_precision))) {
    throw BayesError("fit_last_layer_laplace: prior precision " +
                     std::to_string(*options.prior_precision) + " is not a number > 0");
  }
  LastLayerPosterior p;
  p.label_tokens = train.front().label_tokens;
  p.classes = static_cast<std::int64_t>(p.label_tokens.size());
  p.hidden = static_cast<std::int64_t>(train.front().hidden.size());
  p.temperature = options.temperature;
  if (p.classes < 2 || p.hidden < 1) {
    throw BayesError("fit_last_layer_laplace: item '" + train.front().id + "' has " +
                     std::to_string(p.classes) + " classes and hidden size " +
                     std::to_string(p.hidden) + " (need at least 2 and 1)");
  }
  const auto d = static_cast<std::size_t>(p.classes * p.hidden);
  if (head_rows.size() != d || !all_finite(head_rows)) {
    throw BayesError("fit_last_layer_laplace: head_rows has " + std::to_string(head_rows.size()) +
                     " entries, expected C·H = " + std::to_string(d) + " finite numbers");
  }
  const auto n = static_cast<std::int64_t>(train.size());
  std::vector<double> features, probabilities;
  features.reserve(static_cast<std::size_t>(n * p.hidden));
  probabilities.reserve(static_cast<std::size_t>(n * p.classes));
  for (const eval::AnswerFeatures& item : train) {
    check_item(item, p.label_tokens, p.hidden, "fit_last_layer_laplace");
    if (item.answer < 0 || item.answer >= p.classes) {
      throw BayesError("fit_last_layer_laplace: item '" + item.id + "' has answer " +
                       std::to_string(item.answer) + ", outside 0.." +
                       std::to_string(p.classes - 1));
    }
    // log-softmax in double, shifted by the top logit.
    const double top = *std::max_element(item.logits.begin(), item.logits.end());
    double sum = 0;
    for (double z : item.logits) sum += std::exp(z - top);
    for (double z : item.logits) probabilities.push_back(std::exp(z - top) / sum);
    p.log_likelihood += item.logits[static_cast<std::size_t>(item.answer)] - top - std::log(sum);
    features.insert(features.end(), item.hidden.begin(), item.hidden.end());
  }
  std::vector<double> ggn = softmax_ggn(features, probabilities, n, p.classes, p.hidden);
  for (double& v : ggn) v /= options.temperature;
  p.curvature = symmetric_eigen(ggn, static_cast<std::int64_t>(d));
  for (double w : head_rows) p.squared_norm += w * w;

  if (options.prior_precision) {
    p.prior_precision = *options.prior_precision;
  } else {
    if (!(p.squared_norm > 0)) {
      throw BayesError(
          "fit_last_layer_laplace: the lm_head rows are zero, so the evidence "
          "grows with λ without bound (no maximum); give a prior precision");
    }
    if (!(curvature_value(p.curvature, 0) > 0)) {
      throw BayesError(
          "fit_last_layer_laplace: the curvature is zero (features or class "
          "probabilities degenerate), so the evidence has no maximum in λ; give a "
          "prior precision");
    }
    p.prior_precision = maximise_evidence(p);
  }
  p.log_evidence = last_layer_log_evidence(p, p.prior_precision);
  return p;
}

std::vector<double> last_layer_logit_covariance(const LastLayerPosterior& posterior,
                                                std::span<const double> hidden) {
  const std::int64_t c_count = posterior.classes, h_count = posterior.hidden;
  const std::int64_t d = c_count * h_count;
  if (hidden.size() != static_cast<std::size_t>(h_count) || posterior.curvature.n != d ||
      posterior.curvature.count() != d || !(posterior.prior_precision > 0)) {
    throw BayesError("last_layer_logit_covariance: " + std::to_string(hidden.size()) +
                     " hidden values for a posterior of hidden size " + std::to_string(h_count) +
                     " (or the posterior is not fitted)");
  }
  // Φ_c = e_c ⊗ φᵀ, so (Qᵀ Φ_cᵀ)_k = Σ_h Q[c·H + h, k] φ_h; then
  // Σ_cc' = Σ_k u_c,k u_c',k / (h_k + λ).
  std::vector<double> u(static_cast<std::size_t>(c_count * d), 0.0);
  for (std::int64_t c = 0; c < c_count; ++c) {
    for (std::int64_t h = 0; h < h_count; ++h) {
      const double* q = posterior.curvature.vectors.data() + (c * h_count + h) * d;
      double* row = u.data() + c * d;
      for (std::int64_t k = 0; k < d; ++k) row[k] += q[k] * hidden[static_cast<std::size_t>(h)];
    }
  }
  std::vector<double> inverse(static_cast<std::size_t>(d));
  for (std::int64_t k = 0; k < d; ++k) {
    inverse[static_cast<std::size_t>(k)] =
        1.0 / (curvature_value(posterior.curvature, static_cast<std::size_t>(k)) +
               posterior.prior_precision);
  }
  std::vector<double> sigma(static_cast<std::size_t>(c_count * c_count));
  for (std::int64_t c = 0; c < c_count; ++c) {
    for (std::int64_t e = c; e < c_count; ++e) {
      double s = 0;
      for (std::int64_t k = 0; k < d; ++k) s += u[c * d + k] * u[e * d + k] * inverse[k];
      sigma[c * c_count + e] = sigma[e * c_count + c] = s;
    }
  }
  return sigma;
}

std::vector<double> last_layer_predictive(const LastLayerPosterior& posterior,
                                          const eval::AnswerFeatures& item,
                                          const PredictiveOptions& integration,
                                          std::uint64_t index) {
  check_item(item, posterior.label_tokens, posterior.hidden, "last_layer_predictive");
  const std::vector<double> sigma = last_layer_logit_covariance(posterior, item.hidden);
  PredictiveOptions options = integration;
  options.seed = integration.seed ^ (index * 0x9E3779B97F4A7C15ull);  // as glm_predictive
  return predictive_probabilities(item.logits, sigma, options);
}

}  // namespace vkmoe::bayes
