// The Kronecker factors of KFAC for one routed expert e (DESIGN.md "Bayesian-MoE"):
//   gram (+)= Σ_{r < counts[e]} x_r x_rᵀ,   x_r = X row lists[e][r]
// over the routing entries moe_router put in e's list — with X the down_proj inputs a of every
// entry this gives the factor A, with X the gradients g at the down_proj outputs the factor G.
// The host never reads the routing lists. f32 in, f32 out.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct ExpertGramArgs {
  vk::BufferSpan x;       // f32 [rows, n], one row per routing entry, rows x_stride apart
  vk::BufferSpan counts;  // u32 [experts] from moe_router
  vk::BufferSpan lists;   // u32 [experts, tokens] from moe_router
  vk::BufferSpan gram;    // f32 [n, n] (written, or accumulated into)
  uint32_t expert = 0, experts = 0;
  uint32_t n = 0;
  uint32_t tokens = 0;    // entries per routing list: no expert holds more rows
  uint32_t rows = 0;      // rows of X (tokens · top_k): every list entry indexes one
  uint32_t x_stride = 0;  // 0: n
  bool accumulate = false;
};

// Records the accumulation. Throws Error when a span is smaller than the shape, the gram or
// X do not fit one binding, or the device has no subgroup shuffle.
void expert_gram(vk::Stream& stream, const ExpertGramArgs& args);

}  // namespace vkmoe::ops
