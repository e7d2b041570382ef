#include "engine/stats/bayes_model.h"

#include <algorithm>
#include <cmath>

#include "engine/vk/error.h"

namespace vkmoe::stats {

void validate_model(const BayesMoe& model) {
  if (model.experts == 0 || model.experts > kMaxExperts) {
    throw Error("bayes: experts must be 1.." + std::to_string(kMaxExperts) + ", got " +
                std::to_string(model.experts));
  }
  if (model.dimension == 0 || model.dimension > kMaxDimension) {
    throw Error("bayes: dimension must be 1.." + std::to_string(kMaxDimension) + ", got " +
                std::to_string(model.dimension));
  }
  const BayesPrior& prior = model.prior;
  const auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (!positive(prior.gate_sd) || !positive(prior.expert_sd) || !positive(prior.noise_shape) ||
      !positive(prior.noise_scale)) {
    throw Error("bayes: prior scales and the inverse-gamma shape and scale must be positive");
  }
  if (!std::isfinite(prior.weight_concentration) || prior.weight_concentration < 0) {
    throw Error("bayes: the Dirichlet concentration of the mixing weights must be >= 0 (0: off)");
  }
}

std::vector<uint8_t> default_free_mask(const BayesMoe& model) {
  std::vector<uint8_t> free(model.parameters(), 1);
  const uint32_t last = model.experts - 1;
  for (uint32_t j = 0; j <= model.dimension; ++j) free[model.gate_slope(last) + j] = 0;
  return free;
}

std::vector<std::string> parameter_names(const BayesMoe& model) {
  std::vector<std::string> names;
  for (uint32_t i = 0; i < model.experts; ++i) {
    const std::string atom = "[" + std::to_string(i) + "]";
    for (uint32_t j = 0; j < model.dimension; ++j) {
      names.push_back("beta1" + atom + "[" + std::to_string(j) + "]");
    }
    names.push_back("beta0" + atom);
    for (uint32_t j = 0; j < model.dimension; ++j) {
      names.push_back("a" + atom + "[" + std::to_string(j) + "]");
    }
    names.push_back("b" + atom);
    names.push_back("log_sigma2" + atom);
  }
  return names;
}

BayesMoe model_for_spec(const RegressionSpec& spec, uint32_t experts, const BayesPrior& prior) {
  BayesMoe model;
  model.family = spec.truth.family;
  model.degree = spec.truth.degree;
  model.dimension = spec.truth.dimension;
  model.experts = experts == 0 ? spec.truth.experts() : experts;
  model.prior = prior;
  validate_model(model);
  return model;
}

std::vector<double> truth_parameters(const BayesMoe& model, const RegressionSpec& spec) {
  if (model.experts != spec.truth.experts() || model.dimension != spec.truth.dimension) {
    throw Error("bayes: the truth has " + std::to_string(spec.truth.experts()) +
                " experts of dimension " + std::to_string(spec.truth.dimension));
  }
  std::vector<double> theta(model.parameters());
  const double log_variance = 2.0 * std::log(std::max(spec.noise_sigma, 1e-12));
  const ExpertAtom& last = spec.truth.atoms.back();
  for (uint32_t i = 0; i < model.experts; ++i) {
    const ExpertAtom& atom = spec.truth.atoms[i];
    for (uint32_t j = 0; j < model.dimension; ++j) {
      theta[model.gate_slope(i) + j] = atom.gate_slope[j] - last.gate_slope[j];
      theta[model.expert_slope(i) + j] = atom.expert_slope[j];
    }
    theta[model.gate_bias(i)] = atom.gate_bias - last.gate_bias;
    theta[model.expert_bias(i)] = atom.expert_bias;
    theta[model.log_variance(i)] = log_variance;
  }
  return theta;
}

MoeModel regression_atoms(const BayesMoe& model, std::span<const double> theta) {
  MoeModel out;
  out.family = model.family;
  out.degree = model.degree;
  out.dimension = model.dimension;
  const uint32_t d = model.dimension;
  for (uint32_t i = 0; i < model.experts; ++i) {
    ExpertAtom atom;
    atom.gate_slope.assign(theta.begin() + model.gate_slope(i),
                           theta.begin() + model.gate_slope(i) + d);
    atom.gate_bias = theta[model.gate_bias(i)];
    atom.expert_slope.assign(theta.begin() + model.expert_slope(i),
                             theta.begin() + model.expert_slope(i) + d);
    atom.expert_bias = theta[model.expert_bias(i)];
    out.atoms.push_back(std::move(atom));
  }
  return out;
}

}  // namespace vkmoe::stats
