// One decoder layer recorded into a stream: the attention block and the MLP/MoE block, each
// adding its output to the residual stream `x` in place. The activations live in a
// ForwardScratch sized for the T tokens of one forward.
#pragma once

#include <cstdint>

#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {

struct ForwardScratch {
  ForwardScratch(vk::Context& context, const ModelConfig& config, uint32_t tokens,
                 uint32_t first_position);

  uint32_t tokens = 0;
  vk::Buffer ids, positions, status;     // u32 [T], u32 [T], u32
  vk::Buffer x, h, tmp;                  // [T, H]: residual, normed, block output
  vk::Buffer q, attn;                    // [T, heads * head_dim]
  vk::Buffer attn_scratch;               // attention_scratch_bytes()
  vk::Buffer mlp_gate, mlp_up, mlp_act;  // [T, max(dense, shared) width]
  vk::Buffer router_logits;              // [T, E]
  vk::Buffer route_weights, choices;     // [T, K]
  vk::Buffer counts, lists;              // u32 [E], u32 [E, T]
  vk::Buffer exp_gate, exp_up, exp_act;  // [T·K, I]
  vk::Buffer exp_out;                    // [T·K, H]
  vk::Buffer shared_gate_logit;          // [T, 1]
};

void record_attention(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                      KvCache& cache, uint32_t first_position, ForwardScratch& s);

void record_mlp(vk::Stream& stream, const ModelWeights& weights, uint32_t layer, ForwardScratch& s);

// y[n, rows] = x[n, cols] · Wᵀ for an nn.Linear weight on the device.
void linear(vk::Stream& stream, vk::BufferSpan x, const DeviceMatrix& w, vk::BufferSpan y,
            uint32_t n);

}  // namespace vkmoe::model
