// KFAC curvature of every treated routed expert's down_proj, accumulated on the GPU one training
// example at a time (DESIGN.md "Bayesian-MoE", factors; issue 6 point 2).
//
// Per example: the caller's SavedForward, then one backward per pass of fisher_targets.h. For
// each treated MoE layer and each expert e that the example's tokens reach, ops/expert_gram adds
//   A_e += Σ a aᵀ over the routing entries of e    (once per example: a does not depend on the
//                                                   label)
//   G_e += Σ_passes Σ g gᵀ over the same entries    (g: ∂loss/∂(down_proj output), routing
//                                                   weight included)
//   M_e += the number of those routing entries      (once per example, not per pass)
// into f32 device chunks — one expert_gram dispatch per layer (per part of its experts that fits
// one binding) for A and one for G, the latter over the g of every pass, copied side by side
// after each backward. Normalisation: for the exact
// Fisher the passes carry targets √p_c·e_c, so the pass sum is Σ_c p_c g(e_c) g(e_c)ᵀ, the
// expectation of g gᵀ over y ~ p — one expected outer product per routed token occurrence, like
// mc's single sample and empirical's true label. A and G are thus both sums over the same M
// occurrences, and the curvature the posterior uses, (A ⊗ G)/M (kron_posterior.h), is M·E[a aᵀ] ⊗
// E[g gᵀ], the usual KFAC approximation of Σ_occurrences (a aᵀ) ⊗ (g gᵀ). Nothing is divided here:
// the file stores the sums and M.
//
// fold() downloads each chunk an example reached, one expert at a time, merges it into that
// expert's ExpertFactorStream (rank r) and starts a fresh chunk. Host memory is therefore
// O(experts·(H + I)·r) plus one expert's chunk; the device holds one f32 chunk per treated
// expert, experts·(H² + I²)·4 bytes, and per treated layer the g of an example's passes,
// passes·tokens·top_k·H·4 bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/expert_factor_stream.h"
#include "engine/bayes/fisher_type.h"
#include "engine/model/backward.h"
#include "engine/model/model_weights.h"
#include "engine/model/saved_forward.h"
#include "engine/vk/stream.h"

namespace vkmoe::bayes {

struct KfacExample {
  std::span<const uint32_t> answers;  // the C label tokens
  std::int64_t label = 0;             // the true answer, in [0, C)
  std::uint64_t index = 0;            // position in the data set: keys mc's label draw
};

class KfacAccumulator {
 public:
  // `layers`: the treated MoE layers, ascending (layer_selection.h). Throws BayesError for a
  // layer that is not MoE or rank < 1.
  KfacAccumulator(vk::Context& context, const model::ModelWeights& weights,
                  std::vector<std::int64_t> layers, std::int64_t rank);

  // Runs the example's backward passes over `forward` and adds its chunks. Returns log p(label)
  // under the model (the MAP log-likelihood term of the evidence).
  double add_example(const model::SavedForward& forward, const KfacExample& example,
                     FisherType fisher, std::uint64_t seed);

  // Merges the chunks gathered since the last fold into the streams.
  void fold();
  bool pending() const { return pending_; }

  const std::vector<std::int64_t>& layers() const { return layers_; }
  // [treated layer][expert]; replace them to resume from a checkpoint (same shapes).
  std::vector<std::vector<ExpertFactorStream>>& streams() { return streams_; }
  const std::vector<std::vector<ExpertFactorStream>>& streams() const { return streams_; }

 private:
  // One treated layer's sums since the last fold. The experts' matrices lie back to back in
  // parts of experts_per_part_ experts, each part one binding, so one dispatch covers a part.
  struct Chunk {
    std::vector<vk::Buffer> g_parts, a_parts;  // f32 [experts of the part, H, H], [.., I, I]
    std::vector<std::int64_t> tokens;          // M of each expert (0: nothing since the fold)
    bool written = false;                      // whether the parts hold this chunk's sums yet
  };

  void sort_lists(std::size_t t, const model::MoeLayerActivations& m, uint32_t tokens,
                  std::vector<uint32_t>& counts);
  // Records gram (+)= Σ x xᵀ for every expert of layer t's parts, X holding `passes` blocks of
  // m.entries rows.
  void record_grams(std::size_t t, const model::MoeLayerActivations& m, vk::BufferSpan x,
                    std::int64_t n, uint32_t passes, std::vector<vk::Buffer>& parts,
                    uint32_t tokens);
  // Expert e's n x n matrix in `parts`.
  vk::BufferSpan gram_of(const std::vector<vk::Buffer>& parts, std::int64_t e,
                         std::int64_t n) const;

  vk::Context& context_;
  const model::ModelWeights& weights_;
  vk::Stream stream_;
  std::vector<std::int64_t> layers_;
  std::int64_t h_ = 0, i_ = 0, experts_ = 0;
  std::vector<std::vector<ExpertFactorStream>> streams_;
  std::vector<Chunk> chunks_;         // per treated layer
  std::vector<vk::Buffer> lists_;     // per treated layer: the routing lists, sorted
  std::vector<vk::Buffer> g_passes_;  // per treated layer: f32 [passes, entries, H], the g's
  uint32_t experts_per_part_ = 1;
  bool pending_ = false;
};

}  // namespace vkmoe::bayes
