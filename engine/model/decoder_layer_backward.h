// One decoder layer's backward for activations, recorded into a stream: the MLP/MoE block and
// then the attention block, each taking ∂loss/∂(residual after the block) in `dx` and leaving
// ∂loss/∂(residual before it) there (the residual path plus the block's RMSNorm path).
#pragma once

#include <cstdint>

#include "engine/model/model_weights.h"
#include "engine/model/saved_forward.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {

// Gradients of one layer's activations, reused by every layer (sized for the widest).
struct BackwardScratch {
  BackwardScratch(vk::Context& context, const ModelConfig& config, uint32_t tokens);

  uint32_t tokens = 0;
  vk::Buffer dx;                               // [T, H]: the residual stream's gradient
  vk::Buffer dh;                               // [T, H]: a block's normed input's gradient
  vk::Buffer d_attn, dq;                       // [T, heads * head_dim]
  vk::Buffer dk, dv;                           // [T, kv_heads * head_dim]
  vk::Buffer attn_scratch;                     // attention_backward_scratch_bytes()
  vk::Buffer d_shared;                         // [T, H]: the gated shared expert's output
  vk::Buffer d_gate_logit;                     // [T]
  vk::Buffer d_mlp_act, d_mlp_gate, d_mlp_up;  // [T, max(dense, shared) width]
  vk::Buffer d_route_weights;                  // [T, K]
  vk::Buffer d_router_logits;                  // [T, E]
  vk::Buffer d_exp_act, d_exp_gate, d_exp_up;  // [T·K, I]
  vk::Buffer dx_entry;                         // [T·K, H]
  vk::Buffer ones;                             // [T·K]: unit weights that sum entries per token
};

// The MLP or MoE block of `layer`; for a MoE layer `g` [T·K, H] receives ∂loss/∂(down_proj
// output) of every routing entry (ignored for a dense layer).
void record_mlp_backward(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                         const SavedForward& forward, BackwardScratch& b, vk::BufferSpan g);

void record_attention_backward(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                               const SavedForward& forward, BackwardScratch& b);

}  // namespace vkmoe::model
