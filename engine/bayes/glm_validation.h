// `--prior-precision val` (DESIGN.md "Bayesian-MoE", evidence and λ): the NLL of the linearised
// (GLM) predictive, logit_predictive.h, on a validation file, as a function of λ.
//
// The Jacobians do not depend on λ, so they are gathered once: per validation example the MAP
// log-probabilities of the C labels (the predictive's mean; softmax is shift-invariant, so the
// log-softmax outputs serve as logits) and, per label c, one backward with target e_c, whose g
// is −∂log p_c/∂y at every down_proj output. For each treated expert the example reaches, J_c =
// Σ_t (−g_t^{(c)}) a_tᵀ over its routing entries is kept as its terms. Host memory: the routed
// rows of the validation set, C·H + I doubles each.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/laplace_fit.h"
#include "engine/bayes/logit_predictive.h"

namespace vkmoe::bayes {

struct ExpertRows {
  std::size_t layer = 0;  // index into the treated layers
  std::size_t expert = 0;
  std::int64_t terms = 0;              // routing entries of this expert
  std::vector<double> a;               // [terms, I]
  std::vector<std::vector<double>> g;  // [C][terms, H]: ∂log p_c/∂y
};

struct ValidationJacobians {
  std::vector<double> mean;  // log p_c at the MAP
  std::int64_t label = 0;
  std::vector<ExpertRows> experts;
};

std::vector<ValidationJacobians> gather_validation_jacobians(
    vk::Context& context, const model::ModelWeights& weights, std::span<const FitExample> examples,
    const std::vector<std::int64_t>& layers);

// Mean NLL of the true labels under the GLM predictive of `posterior` (its layers and
// temperature) with prior precision λ for every expert.
double glm_validation_nll(const Posterior& posterior, std::span<const ValidationJacobians> data,
                          double lambda, const PredictiveOptions& options);

}  // namespace vkmoe::bayes
