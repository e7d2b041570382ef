// Choosing the number of experts K by its posterior (issue 9, point 4a): a prior on K,
// truncated to {1, ..., K_max}, times the per-K evidence p(data | K) from thermodynamic
// integration (marginal_likelihood.h):
//   p(K | data) ∝ p(K) p(data | K).
// Priors: Poisson(lambda) truncated to K >= 1 (p(K) ∝ lambda^K / K!) or geometric(q) on
// {1, 2, ...} (p(K) ∝ (1 - q)^(K - 1) q), both renormalised over 1..K_max.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/stats/marginal_likelihood.h"
#include "engine/stats/regression_spec.h"

namespace vkmoe::stats {

enum class KPriorKind { poisson, geometric };

struct KPrior {
  KPriorKind kind = KPriorKind::poisson;
  double parameter = 1.0;  // Poisson mean lambda > 0, or geometric success probability q in (0, 1)
  uint32_t k_max = 4;
};

KPriorKind parse_k_prior(std::string_view name);  // "poisson" | "geometric"

// log p(K) for K = 1..k_max (index K - 1), normalised over that range.
std::vector<double> log_k_prior(const KPrior& prior);

struct KPosterior {
  std::vector<double> log_evidence;    // per K = 1..k_max
  std::vector<double> standard_error;  // of each log evidence (Monte Carlo)
  std::vector<double> probability;     // p(K | data)
  uint32_t map_k = 0;                  // the K of highest posterior probability
};

// p(K | data) from the log evidences (one per K = 1..k_max, as log_evidence_ti returns them).
KPosterior k_posterior(const KPrior& prior, std::vector<double> log_evidence,
                       std::vector<double> standard_error);

// The evidence for K = 1..k_max on one data set (models of the spec's family and dimension
// with `model_prior`), then the posterior over K.
KPosterior choose_k_by_evidence(vk::Context& context, const RegressionSpec& spec,
                                const Dataset& data, const BayesPrior& model_prior,
                                const KPrior& k_prior, const EvidenceSettings& settings);

}  // namespace vkmoe::stats
