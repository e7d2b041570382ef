// The backward passes one training example costs for each Fisher type (DESIGN.md
// "Bayesian-MoE", factors), as the targets of model::ChoiceLoss over the C answer labels. The
// loss, and so g, is linear in the targets:
//  - exact: C passes, pass c with target √p_c·e_c, so Σ_c g_c g_cᵀ = Σ_c p_c g(e_c) g(e_c)ᵀ,
//    the expectation of g gᵀ over labels drawn from the model (p: softmax of the C label logits);
//  - mc: one pass with target e_y, y drawn from p by a counter-based generator keyed by (seed,
//    example index), so a resumed fit draws the same labels as an uninterrupted one;
//  - empirical: one pass with target e_label (the true label).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/fisher_type.h"

namespace vkmoe::bayes {

// softmax of the C label logits, in double precision.
std::vector<double> label_probabilities(std::span<const float> label_logits);

// A uniform number in [0, 1) from (seed, index) alone: SplitMix64 of both.
double counter_uniform(std::uint64_t seed, std::uint64_t index);

// The label drawn from p by the uniform u (inverse CDF; the last label with p > 0 takes the
// rounding remainder).
std::int64_t sample_label(std::span<const double> p, double u);

// One targets vector of length C per backward pass. Throws BayesError for a label outside
// [0, C) or probabilities that are not finite.
std::vector<std::vector<float>> fisher_targets(FisherType fisher, std::span<const double> p,
                                               std::int64_t label, std::uint64_t seed,
                                               std::uint64_t example_index);

}  // namespace vkmoe::bayes
