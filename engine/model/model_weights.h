// A model's weights on the device, as the forward reads them. Every tensor goes up through one
// stream's staging ring. GEMM weights keep their dtype when the kernels read it (F32, F16,
// BF16, and GGUF's Q8_0, Q4_0 and Q4_K blocks as stored in the file); the embedding table, a
// group of mixed types and any other type are decoded to f32 on the host
// (ModelWeights::decoded_on_host says so for quants). Norms and biases are f32. Routed experts are
// stacked [E, m, k] per projection whatever the file's layout (per expert, fused gate_up, stacked),
// so one expert-batched GEMM reads them; a stack larger than one allocation is split by experts.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/expert_product.h"
#include "engine/ops/launch.h"
#include "engine/vk/context.h"
#include "loaders/model_description.h"

namespace vkmoe::model {

// `experts` nn.Linear weights of [rows, cols] back to back (experts = 1: a plain one). A stack
// of experts larger than one allocation (maxMemoryAllocationSize) is split into parts of whole
// experts: `buffer` holds the first `experts_per_part`, `more_parts` the rest in order.
struct DeviceMatrix {
  vk::Buffer buffer;
  std::vector<vk::Buffer> more_parts;
  ops::DType type = ops::DType::f32;
  uint32_t experts = 1, rows = 0, cols = 0;
  uint32_t experts_per_part = UINT32_MAX;
  bool present() const { return buffer.valid(); }
  // The whole stack as the expert kernels take it.
  ops::ExpertWeights expert_weights() const;
};

struct LayerWeights {
  vk::Buffer attn_norm, ffn_norm;  // f32 [H]
  DeviceMatrix q, k, v, o;
  vk::Buffer q_bias, k_bias, v_bias;  // f32; absent without attention biases
  vk::Buffer o_bias;                  // f32; DeepSeek with attention_bias only
  bool moe = false;
  DeviceMatrix gate, up, down;                          // dense MLP
  DeviceMatrix router;                                  // [E, H]
  DeviceMatrix experts_gate, experts_up, experts_down;  // [E, I, H], [E, I, H], [E, H, I]
  DeviceMatrix shared_gate, shared_up, shared_down;     // absent without shared experts
  DeviceMatrix shared_expert_gate;                      // [1, H], Qwen only
};

struct ModelWeights {
  ModelConfig config;
  DeviceMatrix embedding;    // [V, H]
  vk::Buffer output_norm;    // f32 [H]
  DeviceMatrix lm_head;      // absent when the embeddings are tied
  vk::Buffer rope_inv_freq;  // f32 [head_dim / 2]
  std::vector<LayerWeights> layers;
  uint64_t device_bytes = 0;
  // Some quantised GEMM weights were decoded to f32 on the host: in a group of mixed types, or
  // of a type the kernels do not read (the embedding table, decoded by design, does not count).
  bool decoded_on_host = false;

  const DeviceMatrix& output() const { return lm_head.present() ? lm_head : embedding; }
};

// Plans every buffer, checks the total fits the device (OutOfDeviceMemory with the numbers
// before anything is allocated), then allocates and uploads. Throws Error for a config the
// forward does not implement (rope scaling other than linear, routed_scaling_factor ≠ 1).
ModelWeights load_model_weights(vk::Context& context, const ResolvedModel& model);

}  // namespace vkmoe::model
