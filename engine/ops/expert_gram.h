// The Kronecker factors of KFAC for the routed experts (DESIGN.md "Bayesian-MoE"):
//   gram_e (+)= Σ_passes Σ_{r < counts[e]} x_r x_rᵀ,   x_r = X row lists[e][r] of the pass
// over the routing entries moe_router put in e's list — with X the down_proj inputs a of every
// entry this gives the factor A, with X the gradients g at the down_proj outputs (one block of
// rows per backward pass) the factor G. One dispatch covers a run of experts, so a layer costs
// one launch per factor rather than one per expert. The host never reads the routing lists.
// f32 in, f32 out.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct ExpertGramArgs {
  vk::BufferSpan x;  // f32 [passes, rows, n]: per pass one row per routing entry, x_stride apart
  vk::BufferSpan counts;  // u32 [experts] from moe_router
  vk::BufferSpan lists;   // u32 [experts, tokens] from moe_router
  // f32 [expert_count, n, n]: the factors of experts expert_first .. (written, or added to)
  vk::BufferSpan gram;
  uint32_t expert_first = 0;
  uint32_t expert_count = 0;  // 0: every expert from expert_first on
  uint32_t experts = 0;
  uint32_t n = 0;
  uint32_t tokens = 0;    // entries per routing list: no expert holds more rows
  uint32_t rows = 0;      // rows of X per pass (tokens · top_k): every list entry indexes one
  uint32_t x_stride = 0;  // 0: n
  uint32_t passes = 1;    // blocks of `rows` rows in X, each adding to every factor
  bool accumulate = false;
};

// Records the accumulation. Throws Error when a span is smaller than the shape, the experts
// run past `experts`, the gram matrices or X do not fit one binding, or the device has no
// subgroup shuffle.
void expert_gram(vk::Stream& stream, const ExpertGramArgs& args);

}  // namespace vkmoe::ops
