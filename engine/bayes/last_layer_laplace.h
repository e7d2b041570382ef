// The last-layer Laplace baseline (laplace-torch's Laplace(model, "classification",
// subset_of_weights="last_layer", hessian_structure="full"), optimize_prior_precision(
// method="marglik"), glm predictive) on the lm_head rows of the answer label tokens: the C×H
// weights θ = vec(W) (row-major: θ[c·H + h] = W[c, h]) the C-way softmax depends on. All items
// must share one label-token set, as ARC-layout A/B/C/D items do. C·H is small (4·128 = 512),
// so the covariance is full.
//
//   curvature  H = Σ_n (diag p_n − p_n p_nᵀ) ⊗ φ_n φ_nᵀ / T   (exact GGN = Fisher of the softmax)
//   precision  P = H + λI
//   evidence   log p(D|λ) ≈ Σ_n log p(y_n|x_n, θ*) − ½λ‖θ* − μ₀‖² + ½ D log λ − ½ log det P,
//              μ₀ = 0 (laplace-torch's default prior mean), D = C·H
//   predictive logits ~ N(z_MAP, Φ P⁻¹ Φᵀ) with Φ = I_C ⊗ φᵀ (C×D)
//
// H is diagonalised once (H = Q diag(h) Qᵀ, engine/bayes/symmetric_eigen.h), so the evidence at
// any λ costs O(D): log det P = Σ_k log(h_k + λ).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/bayes/logit_predictive.h"
#include "engine/bayes/symmetric_eigen.h"
#include "engine/eval/answer_features.h"

namespace vkmoe::bayes {

struct LastLayerLaplaceOptions {
  std::optional<double> prior_precision;  // unset: maximise the evidence over log λ
  double temperature = 1.0;               // scales the curvature as in laplace-torch
};

struct LastLayerPosterior {
  std::int64_t classes = 0, hidden = 0;
  std::vector<TokenId> label_tokens;  // [C]
  double prior_precision = 0;
  double log_evidence = 0;  // at prior_precision
  // ... whatever representation of the posterior covariance the implementation needs:
  double temperature = 1.0;
  EigenPairs curvature;       // of H (T included), D = C·H pairs: P⁻¹ = Q diag(1/(h + λ)) Qᵀ
  double log_likelihood = 0;  // Σ_n log p(y_n|x_n, θ*) (λ-independent part of the evidence)
  double squared_norm = 0;    // ‖θ* − μ₀‖² = ‖θ*‖²
};

LastLayerPosterior fit_last_layer_laplace(std::span<const eval::AnswerFeatures> train,
                                          std::span<const double> head_rows,  // [C*H]
                                          const LastLayerLaplaceOptions& options);

// Class probabilities [C] of one item: logits ~ N(item.logits, Φ Σ Φᵀ), integrated by
// predictive_probabilities (engine/bayes/logit_predictive.h: MC over logits or probit).
// `index` is mixed into the seed (as glm_predictive does) so a run is reproducible bit for bit.
std::vector<double> last_layer_predictive(const LastLayerPosterior& posterior,
                                          const eval::AnswerFeatures& item,
                                          const PredictiveOptions& integration,
                                          std::uint64_t index = 0);

// The evidence above at another λ (> 0), from the fitted posterior; O(D).
double last_layer_log_evidence(const LastLayerPosterior& posterior, double prior_precision);

// Φ P⁻¹ Φᵀ [C, C] row-major for the lm_head input φ [H] of one item.
std::vector<double> last_layer_logit_covariance(const LastLayerPosterior& posterior,
                                                std::span<const double> hidden);

}  // namespace vkmoe::bayes
