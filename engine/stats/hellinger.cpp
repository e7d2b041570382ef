#include "engine/stats/hellinger.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>

#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

// 10-point Gauss-Legendre on [-1, 1]: nodes are the positive half (symmetric), with weights.
constexpr std::array<double, 5> kNodes = {0.1488743389816312, 0.4333953941292472,
                                          0.6794095682990244, 0.8650633666889845,
                                          0.9739065285171717};
constexpr std::array<double, 5> kWeights = {0.2955242247147529, 0.2692667193099963,
                                            0.2190863625159820, 0.1494513491505806,
                                            0.0666713443086881};
constexpr std::array<double, 8> kOffsets = {0, 1, 2, 3, 4, 6, 9, 12};  // in sd, either side

double mixture_density(const GaussianMixture1d& m, double y) {
  double total = 0;
  for (size_t i = 0; i < m.weight.size(); ++i) {
    const double z = (y - m.mean[i]) / m.sd[i];
    total += m.weight[i] * std::exp(-0.5 * z * z) / (m.sd[i] * std::sqrt(2.0 * std::numbers::pi));
  }
  return total;
}

}  // namespace

GaussianMixture1d conditional_density(const BayesMoe& model, std::span<const double> theta,
                                      std::span<const double> x) {
  if (theta.size() != model.parameters() || x.size() != model.dimension) {
    throw Error("hellinger: parameter or point sizes do not match the model");
  }
  GaussianMixture1d out;
  double largest = -INFINITY;
  std::vector<double> logit(model.experts);
  for (uint32_t i = 0; i < model.experts; ++i) {
    double g = theta[model.gate_bias(i)], z = theta[model.expert_bias(i)];
    for (uint32_t j = 0; j < model.dimension; ++j) {
      g += theta[model.gate_slope(i) + j] * x[j];
      z += theta[model.expert_slope(i) + j] * x[j];
    }
    logit[i] = g;
    largest = std::max(largest, g);
    out.mean.push_back(expert_value(model.family, model.degree, z).value);
    out.sd.push_back(std::exp(0.5 * theta[model.log_variance(i)]));
  }
  double sum = 0;
  for (double g : logit) sum += std::exp(g - largest);
  for (double g : logit) out.weight.push_back(std::exp(g - largest) / sum);
  return out;
}

double bhattacharyya_coefficient(const GaussianMixture1d& p, const GaussianMixture1d& q) {
  std::vector<double> cuts;
  for (const GaussianMixture1d* m : {&p, &q}) {
    for (size_t i = 0; i < m->mean.size(); ++i) {
      if (!(m->sd[i] > 0) || !std::isfinite(m->mean[i])) {
        throw Error("hellinger: a component has a non-positive sd or a non-finite mean");
      }
      for (double k : kOffsets) {
        cuts.push_back(m->mean[i] + k * m->sd[i]);
        cuts.push_back(m->mean[i] - k * m->sd[i]);
      }
    }
  }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  double total = 0;
  for (size_t c = 0; c + 1 < cuts.size(); ++c) {
    const double centre = 0.5 * (cuts[c] + cuts[c + 1]), half = 0.5 * (cuts[c + 1] - cuts[c]);
    double piece = 0;
    for (size_t j = 0; j < kNodes.size(); ++j) {
      for (double y : {centre - half * kNodes[j], centre + half * kNodes[j]}) {
        piece += kWeights[j] * std::sqrt(mixture_density(p, y) * mixture_density(q, y));
      }
    }
    total += half * piece;
  }
  return total;
}

double hellinger_distance(const BayesMoe& model, std::span<const double> theta,
                          const BayesMoe& truth_model, std::span<const double> truth,
                          std::span<const double> points) {
  const uint32_t d = model.dimension;
  if (truth_model.dimension != d || truth_model.family != model.family || points.empty() ||
      points.size() % d != 0) {
    throw Error("hellinger: the models must share family and dimension, points be d-vectors");
  }
  const size_t count = points.size() / d;
  double squared = 0;
  for (size_t s = 0; s < count; ++s) {
    const std::span<const double> x = points.subspan(s * d, d);
    const double bc = bhattacharyya_coefficient(conditional_density(model, theta, x),
                                                conditional_density(truth_model, truth, x));
    // Quadrature may leave BC a rounding error above 1 for equal densities.
    squared += std::max(0.0, 1.0 - bc);
  }
  return std::sqrt(squared / static_cast<double>(count));
}

}  // namespace vkmoe::stats
