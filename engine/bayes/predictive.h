// The Bayesian-MoE predictive of a fitted posterior for one multiple-choice example (DESIGN.md
// "Bayesian-MoE", linearised predictive; STYLE.md: the predictive apart from curvature and
// posterior structure). `glm`: the answer logits are Gaussian around the MAP log-probabilities
// with covariance Σ_cc' = Σ_e ⟨J_c, P_e⁻¹ J_c'⟩ over the treated experts the example reaches,
// from the projected Jacobians of glm_validation.h; probabilities by seeded Monte Carlo over
// logits or the probit approximation (logit_predictive.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "engine/bayes/glm_validation.h"
#include "engine/bayes/logit_predictive.h"
#include "engine/bayes/posterior_file.h"

namespace vkmoe::bayes {

struct GlmPredictiveOptions {
  PredictiveOptions integration;  // MC over logits (default) or probit; samples; seed
  // Replaces the posterior's λ (one or per layer) for every expert when set.
  std::optional<double> prior_precision;
};

// λ of the treated layer `layer` (an index into posterior.layers): the override, else the
// posterior's one λ or its per-layer λ. Throws BayesError for an inconsistent posterior.
double layer_prior_precision(const Posterior& posterior, std::size_t layer,
                             const GlmPredictiveOptions& options);

// Class probabilities [C] of one example. `index` is mixed into the seed so that examples draw
// independent logits while a run stays reproducible bit for bit.
std::vector<double> glm_predictive(const Posterior& posterior, const ValidationJacobians& example,
                                   const GlmPredictiveOptions& options, std::uint64_t index = 0);

// The treated decoder layers of a posterior, in the order its `layers` hold them: what
// gather_validation_jacobians needs so that ExpertRows::layer indexes posterior.layers.
std::vector<std::int64_t> posterior_layer_indices(const Posterior& posterior);

}  // namespace vkmoe::bayes
