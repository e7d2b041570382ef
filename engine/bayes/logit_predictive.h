// The linearised (GLM) predictive of Bayesian-MoE for one multiple-choice example (DESIGN.md
// "Bayesian-MoE", linearised predictive): the logits of the C answers are Gaussian with mean
// the MAP logits and covariance Σ_cc' = Σ_e ⟨J_c, P_e⁻¹ J_c'⟩ over the treated experts, and the
// class probabilities are E[softmax(z)], by Monte Carlo over logits (default) or the probit
// approximation softmax(μ_c / √(1 + π/8 Σ_cc)).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/kron_posterior.h"

namespace vkmoe::bayes {

// One expert's part of Σ: its posterior and, for each answer c, J_c = Σ_t g_t^{(c)} a_tᵀ over
// the tokens routed to it (g^{(c)}: gradient of logit c at the down_proj output).
struct ExpertLogitJacobians {
  const KronExpertFactors* factors = nullptr;
  PosteriorScale scale;
  std::vector<OuterProductSum> per_class;  // [C]
};

// Σ [C, C] row-major. Throws BayesError when the experts disagree on C.
std::vector<double> logit_covariance(std::span<const ExpertLogitJacobians> experts,
                                     std::int64_t classes);

enum class LogitIntegration : std::uint8_t { kMonteCarlo, kProbit };

struct PredictiveOptions {
  LogitIntegration method = LogitIntegration::kMonteCarlo;
  std::int64_t samples = 1000;  // Monte Carlo draws
  std::uint64_t seed = 0;       // the same seed gives the same probabilities, bit for bit
};

// Class probabilities [C]. Σ may be singular (a draw uses its non-negative eigenvalues).
// Throws BayesError for mismatched sizes, non-finite input or samples < 1.
std::vector<double> predictive_probabilities(std::span<const double> mean,
                                             std::span<const double> covariance,
                                             const PredictiveOptions& options);

}  // namespace vkmoe::bayes
