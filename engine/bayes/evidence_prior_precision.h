// `--prior-precision evidence` on a fitted posterior: fills Posterior::prior_precision with the
// λ that maximises the evidence, one for the model or one per layer (`--per-layer`; the
// evidence is then a sum of independent per-layer terms, so each layer is searched alone).
#pragma once

#include <vector>

#include "engine/bayes/evidence.h"
#include "engine/bayes/posterior_file.h"

namespace vkmoe::bayes {

struct EvidenceData {
  double log_likelihood = 0;             // log p(D|θ*) over the training data
  std::vector<double> squared_distance;  // per posterior layer: Σ_e ‖θ*_e − μ₀‖²
};

// Returns the maxima (one, or one per layer). Throws BayesError for a posterior with
// prior_mean = map (its evidence has no maximum, prior_options.h) or a distance per layer
// missing.
std::vector<EvidenceMaximum> set_prior_precision_by_evidence(Posterior& posterior,
                                                             const EvidenceData& data,
                                                             bool per_layer,
                                                             const EvidenceSearch& search = {});

}  // namespace vkmoe::bayes
