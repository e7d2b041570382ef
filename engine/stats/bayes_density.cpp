#include "engine/stats/bayes_density.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// log N(x | 0, sd^2) and its derivative in x.
double log_normal(double x, double sd, double* slope) {
  *slope = -x / (sd * sd);
  return -0.5 * x * x / (sd * sd) - std::log(sd) - 0.5 * std::log(2.0 * std::numbers::pi);
}

// The Dirichlet prior on the mixing weights at x = 0 (bayes_model.h) when any gate bias is free;
// adds its gradient to `grad`.
double log_weight_prior(const BayesMoe& model, std::span<const double> theta,
                        std::span<const uint8_t> free, std::vector<double>& grad) {
  const uint32_t k = model.experts;
  bool any_free = false;
  double largest = -INFINITY;
  for (uint32_t i = 0; i < k; ++i) {
    any_free = any_free || free[model.gate_bias(i)] != 0;
    largest = std::max(largest, theta[model.gate_bias(i)]);
  }
  if (!any_free) return 0;
  double sum = 0;
  for (uint32_t i = 0; i < k; ++i) sum += std::exp(theta[model.gate_bias(i)] - largest);
  const double log_normaliser = largest + std::log(sum);
  const double alpha = model.prior.weight_concentration;
  double total = std::lgamma(k * alpha) - k * std::lgamma(alpha);
  for (uint32_t i = 0; i < k; ++i) {
    const double log_pi = theta[model.gate_bias(i)] - log_normaliser;
    total += alpha * log_pi;
    grad[model.gate_bias(i)] += alpha * (1.0 - k * std::exp(log_pi));
  }
  return total;
}

}  // namespace

double log_posterior(const BayesMoe& model, const Dataset& data, std::span<const double> theta,
                     std::span<const uint8_t> free, std::span<double> gradient) {
  const uint32_t k = model.experts, d = model.dimension, count = model.parameters();
  if (theta.size() != count || free.size() != count ||
      (!gradient.empty() && gradient.size() != count) || data.dimension != d) {
    throw Error("bayes: log_posterior: parameter, mask or data sizes do not match the model");
  }
  std::vector<double> grad(count, 0.0);
  std::vector<double> logit(k), log_gate(k), mean(k), slope(k), log_joint(k);
  const double half_log_two_pi = 0.5 * std::log(2.0 * std::numbers::pi);
  double total = 0;
  for (uint32_t s = 0; s < data.samples; ++s) {
    const float* row = data.row(s);
    const double y = row[d];
    double largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      double g = theta[model.gate_bias(i)], z = theta[model.expert_bias(i)];
      for (uint32_t j = 0; j < d; ++j) {
        g += theta[model.gate_slope(i) + j] * row[j];
        z += theta[model.expert_slope(i) + j] * row[j];
      }
      logit[i] = g;
      largest = std::max(largest, g);
      const ExpertValue h = expert_value(model.family, model.degree, z);
      mean[i] = h.value;
      slope[i] = h.slope;
    }
    double gate_sum = 0;
    for (uint32_t i = 0; i < k; ++i) gate_sum += std::exp(logit[i] - largest);
    const double log_normaliser = largest + std::log(gate_sum);
    double joint_largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      const double v = theta[model.log_variance(i)];
      const double r = y - mean[i];
      log_gate[i] = logit[i] - log_normaliser;
      log_joint[i] = log_gate[i] - half_log_two_pi - 0.5 * v - 0.5 * r * r * std::exp(-v);
      joint_largest = std::max(joint_largest, log_joint[i]);
    }
    double joint_sum = 0;
    for (uint32_t i = 0; i < k; ++i) joint_sum += std::exp(log_joint[i] - joint_largest);
    const double log_likelihood = joint_largest + std::log(joint_sum);
    total += log_likelihood;
    // Responsibilities w_i = pi_i N_i / sum: d/dlogit_i = w_i - pi_i, d/dh_i = w_i r_i / sigma_i^2,
    // d/dv_i = w_i (r_i^2 / sigma_i^2 - 1) / 2.
    for (uint32_t i = 0; i < k; ++i) {
      const double w = std::exp(log_joint[i] - log_likelihood);
      const double pi = std::exp(log_gate[i]);
      const double precision = std::exp(-theta[model.log_variance(i)]);
      const double r = y - mean[i];
      const double by_logit = w - pi;
      const double by_mean = w * r * precision * slope[i];
      for (uint32_t j = 0; j < d; ++j) {
        grad[model.gate_slope(i) + j] += by_logit * row[j];
        grad[model.expert_slope(i) + j] += by_mean * row[j];
      }
      grad[model.gate_bias(i)] += by_logit;
      grad[model.expert_bias(i)] += by_mean;
      grad[model.log_variance(i)] += 0.5 * w * (r * r * precision - 1.0);
    }
  }

  // Priors of the free parameters.
  const BayesPrior& prior = model.prior;
  const double log_gamma_shape = std::lgamma(prior.noise_shape);
  const bool dirichlet = prior.weight_concentration > 0;
  for (uint32_t i = 0; i < k; ++i) {
    for (uint32_t q = i * model.stride(); q < (i + 1) * model.stride(); ++q) {
      if (!free[q] || (dirichlet && q == model.gate_bias(i))) continue;
      double slope_q = 0;
      if (q == model.log_variance(i)) {
        const double tail = prior.noise_scale * std::exp(-theta[q]);
        total += prior.noise_shape * std::log(prior.noise_scale) - log_gamma_shape -
                 prior.noise_shape * theta[q] - tail;
        slope_q = tail - prior.noise_shape;
      } else {
        const double sd = q < model.expert_slope(i) ? prior.gate_sd : prior.expert_sd;
        total += log_normal(theta[q], sd, &slope_q);
      }
      grad[q] += slope_q;
    }
  }
  if (dirichlet) total += log_weight_prior(model, theta, free, grad);
  for (uint32_t q = 0; q < count; ++q) {
    if (!free[q]) grad[q] = 0;
  }
  if (!gradient.empty()) std::copy(grad.begin(), grad.end(), gradient.begin());
  return total;
}

}  // namespace vkmoe::stats
