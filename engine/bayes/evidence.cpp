#include "engine/bayes/evidence.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

double log_evidence(const EvidenceGroup& group, double prior_precision, double temperature) {
  const PosteriorScale scale{prior_precision, temperature};
  double params = 0, log_det = 0;
  for (std::span<const KronExpertFactors> part : group.experts) {
    for (const KronExpertFactors& e : part) {
      params += static_cast<double>(e.params());
      log_det += log_det_precision(e, scale);
    }
  }
  return group.log_likelihood - 0.5 * prior_precision * group.squared_distance +
         0.5 * params * std::log(prior_precision) - 0.5 * log_det;
}

EvidenceMaximum maximise_evidence(const EvidenceGroup& group, double temperature,
                                  const EvidenceSearch& search) {
  if (!(search.min_lambda > 0) || !(search.max_lambda > search.min_lambda) ||
      !std::isfinite(search.max_lambda) || !(search.log_tolerance > 0)) {
    throw BayesError("maximise_evidence: bracket [" + std::to_string(search.min_lambda) + ", " +
                     std::to_string(search.max_lambda) +
                     "] and tolerance must satisfy 0 < min < max < ∞ and tolerance > 0");
  }
  std::size_t experts = 0;
  for (std::span<const KronExpertFactors> part : group.experts) experts += part.size();
  if (experts == 0) throw BayesError("maximise_evidence: the group has no experts");
  if (!(group.squared_distance > 0)) {
    throw BayesError(
        "maximise_evidence: ‖θ* − μ₀‖² = 0 (a prior centred on the fine-tuned weights): the "
        "evidence then increases with λ everywhere and has no maximum");
  }
  auto f = [&](double log_lambda) {
    return log_evidence(group, std::exp(log_lambda), temperature);
  };
  // Golden section on [lo, hi]: keep two interior points at the golden ratio and drop the side
  // of the worse one; the bracket shrinks by 0.618 each step.
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  const double lo0 = std::log(search.min_lambda), hi0 = std::log(search.max_lambda);
  double lo = lo0, hi = hi0;
  double x1 = hi - inv_phi * (hi - lo), x2 = lo + inv_phi * (hi - lo);
  double f1 = f(x1), f2 = f(x2);
  while (hi - lo > search.log_tolerance) {
    if (f1 < f2) {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + inv_phi * (hi - lo);
      f2 = f(x2);
    } else {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - inv_phi * (hi - lo);
      f1 = f(x1);
    }
  }
  const double best = 0.5 * (lo + hi);
  EvidenceMaximum out{std::exp(best), f(best), false};
  out.at_bracket_edge =
      best - lo0 < 2 * search.log_tolerance || hi0 - best < 2 * search.log_tolerance;
  return out;
}

std::vector<EvidenceMaximum> maximise_evidence_per_group(std::span<const EvidenceGroup> groups,
                                                         double temperature,
                                                         const EvidenceSearch& search) {
  std::vector<EvidenceMaximum> out;
  out.reserve(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    try {
      out.push_back(maximise_evidence(groups[g], temperature, search));
    } catch (const BayesError& e) {
      throw BayesError("group " + std::to_string(g) + ": " + e.what());
    }
  }
  return out;
}

}  // namespace vkmoe::bayes
