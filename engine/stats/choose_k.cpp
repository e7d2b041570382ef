#include "engine/stats/choose_k.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::stats {

KPriorKind parse_k_prior(std::string_view name) {
  if (name == "poisson") return KPriorKind::poisson;
  if (name == "geometric") return KPriorKind::geometric;
  throw Error("unknown prior on K '" + std::string(name) + "' (poisson or geometric)");
}

std::vector<double> log_k_prior(const KPrior& prior) {
  if (prior.k_max == 0 || prior.k_max > kMaxExperts) {
    throw Error("choose K: K_max must be 1.." + std::to_string(kMaxExperts));
  }
  const bool poisson = prior.kind == KPriorKind::poisson;
  if (poisson ? !(prior.parameter > 0) : !(prior.parameter > 0 && prior.parameter < 1)) {
    throw Error("choose K: the Poisson mean must be > 0, the geometric probability in (0, 1)");
  }
  std::vector<double> out;
  for (uint32_t k = 1; k <= prior.k_max; ++k) {
    out.push_back(poisson ? k * std::log(prior.parameter) - std::lgamma(k + 1.0)
                          : (k - 1) * std::log1p(-prior.parameter) + std::log(prior.parameter));
  }
  const double largest = *std::max_element(out.begin(), out.end());
  double sum = 0;
  for (double v : out) sum += std::exp(v - largest);
  for (double& v : out) v -= largest + std::log(sum);
  return out;
}

KPosterior k_posterior(const KPrior& prior, std::vector<double> log_evidence,
                       std::vector<double> standard_error) {
  const std::vector<double> log_prior = log_k_prior(prior);
  if (log_evidence.size() != log_prior.size() || standard_error.size() != log_prior.size()) {
    throw Error("choose K: one log evidence and standard error per K = 1..K_max");
  }
  KPosterior out;
  std::vector<double> joint(log_prior.size());
  for (size_t k = 0; k < joint.size(); ++k) joint[k] = log_prior[k] + log_evidence[k];
  const double largest = *std::max_element(joint.begin(), joint.end());
  double sum = 0;
  for (double v : joint) sum += std::exp(v - largest);
  for (double v : joint) out.probability.push_back(std::exp(v - largest) / sum);
  out.map_k =
      static_cast<uint32_t>(std::max_element(out.probability.begin(), out.probability.end()) -
                            out.probability.begin()) +
      1;
  out.log_evidence = std::move(log_evidence);
  out.standard_error = std::move(standard_error);
  return out;
}

KPosterior choose_k_by_evidence(vk::Context& context, const RegressionSpec& spec,
                                const Dataset& data, const BayesPrior& model_prior,
                                const KPrior& k_prior, const EvidenceSettings& settings) {
  std::vector<double> log_evidence, standard_error;
  for (uint32_t k = 1; k <= k_prior.k_max; ++k) {
    HmcProblem problem;
    problem.model = model_for_spec(spec, k, model_prior);
    problem.data = &data;
    const EvidenceEstimate estimate = log_evidence_ti(context, problem, settings);
    log_evidence.push_back(estimate.log_evidence);
    standard_error.push_back(estimate.standard_error);
  }
  return k_posterior(k_prior, std::move(log_evidence), std::move(standard_error));
}

}  // namespace vkmoe::stats
