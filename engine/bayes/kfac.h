// KFAC curvature of every treated routed expert's down_proj, gathered on the GPU example by
// example and summed expert by expert (DESIGN.md "Bayesian-MoE", factors; issue 6 point 2).
//
// Per example: the caller's SavedForward, then one backward per pass of fisher_targets.h. For
// each treated MoE layer the example's rows are copied into that layer's row buffer — the
// down_proj inputs a of every routing entry (once: a does not depend on the label) and the
// gradients g of every pass (∂loss/∂(down_proj output), routing weight included) — and the
// host keeps which rows each expert was routed (expert_row_lists.h). At a merge, expert group by
// expert group, ops/expert_gram sums
//   A_e = Σ a aᵀ over e's routing entries since the last merge
//   G_e = Σ_passes Σ g gᵀ over the same entries
//   M_e = the number of those entries (once per example, not per pass)
// from all those rows at once (a GEMM with a long contraction, rather than ~10 rows of one
// example per launch), downloads them into the same group buffers' host copy and merges each
// into its expert's ExpertFactorStream (rank r). Normalisation: for the exact Fisher the passes
// carry targets √p_c·e_c, so the pass sum is Σ_c p_c g(e_c) g(e_c)ᵀ, the expectation of g gᵀ
// over y ~ p — one expected outer product per routed token occurrence, like mc's single sample
// and empirical's true label. A and G are thus both sums over the same M occurrences, and the
// curvature the posterior uses, (A ⊗ G)/M (kron_posterior.h), is M·E[a aᵀ] ⊗ E[g gᵀ], the usual
// KFAC approximation of Σ_occurrences (a aᵀ) ⊗ (g gᵀ). Nothing is divided here: the file stores
// the sums and M.
//
// When merges happen: at every fold(), and before an example whose rows would take a layer's
// gathered bytes past KfacBudget::row_bytes / layers. The rule depends only on the examples
// since the last merge (never on what was allocated), so a fit resumed from a checkpoint (taken
// at a fold) merges at the same points as an uninterrupted one and, rows being summed in a
// fixed order, reproduces it bit for bit.
//
// Device memory: per treated layer one row buffer of row_bytes / layers (a rows from its start,
// g rows from its end, so one budget serves any number of passes; larger for a single example
// that does not fit it), plus one group of experts' Grams, group·(H² + I²)·4 bytes, and the row
// lists of a group — O(group·(H² + I²)), not O(layers·experts·(H² + I²)). Host memory:
// O(experts·(H + I)·r) for the streams plus one group's Grams.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/expert_factor_stream.h"
#include "engine/bayes/expert_row_lists.h"
#include "engine/bayes/fisher_type.h"
#include "engine/bayes/kfac_budget.h"
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
  // layer that is not MoE or rank < 1, OutOfDeviceMemory when the buffers do not fit.
  KfacAccumulator(vk::Context& context, const model::ModelWeights& weights,
                  std::vector<std::int64_t> layers, std::int64_t rank, KfacBudget budget = {});

  // Runs the example's backward passes over `forward` and gathers its rows (merging first when
  // they would not fit). Returns log p(label) under the model (the MAP log-likelihood term of
  // the evidence).
  double add_example(const model::SavedForward& forward, const KfacExample& example,
                     FisherType fisher, std::uint64_t seed);

  // Merges the rows gathered since the last merge into the streams.
  void fold();
  bool pending() const { return a_used_ > 0; }
  // Merges so far, fold() included: tells a test that the row budget split a fold interval.
  std::int64_t merges() const { return merges_; }

  const std::vector<std::int64_t>& layers() const { return layers_; }
  // [treated layer][expert]; replace them to resume from a checkpoint (same shapes).
  std::vector<std::vector<ExpertFactorStream>>& streams() { return streams_; }
  const std::vector<std::vector<ExpertFactorStream>>& streams() const { return streams_; }

 private:
  // Makes room for an example of `entries` rows per pass: merges if the layer share would
  // overflow, grows the row buffers if one example is larger than they are.
  void make_room(uint32_t entries, uint32_t passes);
  void allocate_rows(std::uint64_t bytes);
  // Sums and merges experts [first, first + count) of treated layer t (all with rows).
  void merge_group(std::size_t t, std::span<const std::int64_t> experts);
  // Uploads the group's lists of `factor` and records its Grams into `gram`.
  void record_group(std::size_t t, std::span<const std::int64_t> experts, KfacFactor factor);

  vk::Context& context_;
  const model::ModelWeights& weights_;
  vk::Stream stream_;
  std::vector<std::int64_t> layers_;
  std::int64_t h_ = 0, i_ = 0, experts_ = 0;
  KfacBudget budget_;
  std::uint64_t layer_bytes_ = 0;  // the merge rule's share of row_bytes per layer
  std::vector<std::vector<ExpertFactorStream>> streams_;
  std::vector<ExpertRowLists> lists_;  // per treated layer
  std::vector<vk::Buffer> rows_;       // per treated layer: a rows from the start, g from the end
  std::uint64_t row_capacity_ = 0;     // bytes of each row buffer
  uint32_t a_used_ = 0, g_used_ = 0;   // rows gathered since the last merge (every layer alike)
  std::int64_t group_ = 1;             // experts per Gram launch
  vk::Buffer a_gram_, g_gram_;         // f32 [group, I, I], [group, H, H]
  vk::Buffer a_lists_, g_lists_;       // u32 offsets [group + 1] then rows
  std::int64_t merges_ = 0;
};

}  // namespace vkmoe::bayes
