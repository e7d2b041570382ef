// The fused MoE router: per token, softmax over the router logits, top-k experts (ties to the
// smaller id), optional renormalisation of the k weights, and per-expert routing lists that
// the expert kernels gather rows from — all on the GPU, nothing read back by the host.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct RouterShape {
  uint32_t tokens = 1;
  uint32_t experts = 1;  // ≤ 1024
  uint32_t top_k = 1;    // ≤ experts
  // Divide the k weights by their sum. Qwen2-MoE: norm_topk_prob. DeepSeek-MoE:
  // norm_topk_prob && top_k > 1 (its top-1 keeps the probability).
  bool renormalise = false;
};

// logits [tokens, experts] f32 → weights [tokens, top_k] f32 and choices [tokens, top_k] u32.
// counts [experts] u32 is zeroed here, then holds how many tokens chose each expert; lists
// [experts, tokens] u32 holds, in the first counts[e] entries of row e, the entries t * top_k + j
// of the tokens whose j-th choice is e (in no particular order).
void moe_router(vk::Stream& stream, vk::BufferSpan logits, vk::BufferSpan weights,
                vk::BufferSpan choices, vk::BufferSpan counts, vk::BufferSpan lists,
                const RouterShape& shape);

}  // namespace vkmoe::ops
