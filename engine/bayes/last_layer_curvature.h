// The curvature of the last-layer Laplace baseline (engine/bayes/last_layer_laplace.h): the
// generalised Gauss–Newton of a C-way softmax over logits z = W φ, with respect to the C×H
// weights θ = vec(W) in row-major order (θ[c·H + h] = W[c, h]):
//   H = Σ_n (diag p_n − p_n p_nᵀ) ⊗ φ_n φ_nᵀ,
// the Hessian of the cross-entropy in z pulled back through the linear map; for the softmax it
// is also the exact Fisher (the labels' distribution integrated out), so the label does not
// enter.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vkmoe::bayes {

// H [D, D] row-major, D = classes · hidden, from features φ_n [N, hidden] and class
// probabilities p_n [N, classes] (both row-major, N = examples). Throws BayesError when the
// sizes disagree. O(N·D²).
std::vector<double> softmax_ggn(std::span<const double> features,
                                std::span<const double> probabilities, std::int64_t examples,
                                std::int64_t classes, std::int64_t hidden);

}  // namespace vkmoe::bayes
