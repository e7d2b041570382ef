// The routed-expert stage of a MoE layer on the GPU, driven by moe_router's per-expert lists:
//   moe_gemm(gate), moe_gemm(up)  X[token] · W_e^T for every routing entry (token, choice j)
//   swiglu                        elementwise over the entries
//   moe_gemm(down, x_per_entry)   act[entry] · W_e^T
//   moe_combine                   out[token] = Σ_j weight[token, j] · y[token·k + j]
// One dispatch per group of experts (z = expert); the host never reads routing choices.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/ops/expert_product.h"
#include "engine/ops/gemm.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct MoeGemmArgs {
  vk::BufferSpan x;       // f32 [tokens, k] (x_per_entry: [tokens * top_k, k]), dense
  ExpertWeights w;        // w_type [experts, m, k]: each expert's nn.Linear weight, back to back
  vk::BufferSpan y;       // f32 [tokens * top_k, m]: one row per routing entry (written)
  vk::BufferSpan counts;  // u32 [experts] from moe_router
  vk::BufferSpan lists;   // u32 [experts, tokens] from moe_router
  DType w_type = DType::f32;
  uint32_t experts = 0, m = 0, k = 0, tokens = 0, top_k = 1;
  bool x_per_entry = false;        // false: X row = token (gate/up); true: X row = entry (down)
  std::optional<GemmTiles> tiles;  // unset: forward_gemm_tiles()
};

// Y row t·k + j = X row · W_{choice(t, j)}^T for every routing entry. Rows of an expert
// nobody chose are never read (its weights may be anything).
void moe_gemm(vk::Stream& stream, const MoeGemmArgs& args);

// out [tokens, columns] = (accumulate ? out : 0) + Σ_j weights[t, j] · y[t·top_k + j].
void moe_combine(vk::Stream& stream, vk::BufferSpan y, vk::BufferSpan weights, vk::BufferSpan out,
                 uint32_t tokens, uint32_t columns, uint32_t top_k, bool accumulate);

}  // namespace vkmoe::ops
