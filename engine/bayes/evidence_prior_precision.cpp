#include "engine/bayes/evidence_prior_precision.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

std::vector<EvidenceMaximum> set_prior_precision_by_evidence(Posterior& posterior,
                                                             const EvidenceData& data,
                                                             bool per_layer,
                                                             const EvidenceSearch& search) {
  check_prior_options(posterior.prior_mean, {PrecisionChoice::kEvidence, 0});
  if (data.squared_distance.size() != posterior.layers.size()) {
    throw BayesError("evidence: " + std::to_string(data.squared_distance.size()) +
                     " prior distances for " + std::to_string(posterior.layers.size()) +
                     " posterior layers, expected one per layer");
  }
  std::vector<EvidenceGroup> groups;
  if (per_layer) {
    for (std::size_t l = 0; l < posterior.layers.size(); ++l) {
      groups.push_back(
          {{posterior.layers[l].experts}, data.log_likelihood, data.squared_distance[l]});
    }
  } else {
    EvidenceGroup model{{}, data.log_likelihood, 0.0};
    for (std::size_t l = 0; l < posterior.layers.size(); ++l) {
      model.experts.emplace_back(posterior.layers[l].experts);
      model.squared_distance += data.squared_distance[l];
    }
    groups.push_back(std::move(model));
  }
  std::vector<EvidenceMaximum> best =
      maximise_evidence_per_group(groups, posterior.temperature, search);
  posterior.prior_precision.clear();
  for (const EvidenceMaximum& m : best) posterior.prior_precision.push_back(m.prior_precision);
  return best;
}

}  // namespace vkmoe::bayes
