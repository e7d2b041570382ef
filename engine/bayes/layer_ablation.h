// The layer-wise ablation of Bayesian-MoE (DESIGN.md "Bayesian-MoE", layers) without a refit:
// the posterior is block-diagonal over experts, hence over layers, so the posterior of a subset
// of the treated layers is the fitted one with the other layers' blocks dropped, and the GLM
// predictive of that restriction is the predictive (predictive.h) of the same example with the
// dropped layers' Jacobians left out. One gather of Jacobians per example thus serves the full
// posterior and every ablation.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/glm_validation.h"
#include "engine/bayes/posterior_file.h"

namespace vkmoe::bayes {

// The positions in posterior.layers (what ExpertRows::layer holds) of the decoder layers
// `layers`; decoder layers the posterior does not treat have no position and are skipped.
std::vector<std::size_t> posterior_positions(const Posterior& posterior,
                                             std::span<const std::int64_t> layers);

// `example` without the experts of the treated layers at `left_out` (positions as above).
ValidationJacobians without_layers(const ValidationJacobians& example,
                                   std::span<const std::size_t> left_out);

}  // namespace vkmoe::bayes
