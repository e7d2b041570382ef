// The forward pass of qwen2_moe and deepseek models, as the Hugging Face modelling code
// defines it: embedding → per layer [input RMSNorm → q/k/v (+bias) → RoPE → K/V into the cache
// → causal attention → o_proj → residual; post-attention RMSNorm → MoE (router → top-k experts
// → combine, plus the shared expert(s)) or a dense MLP → residual] → final norm → lm_head.
//
// One forward is one stream: every kernel is recorded back to back, and the host waits once, at
// the end, for the logits. Decode is a forward of one token.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/model_weights.h"

namespace vkmoe::model {

enum class LogitsFor { kLast, kAll };

struct ForwardRequest {
  std::span<const uint32_t> tokens;  // at positions first_position .. first_position + T - 1
  uint32_t first_position = 0;       // at most cache.length(): earlier positions are reused
  LogitsFor logits = LogitsFor::kLast;
};

// Returns f32 logits [rows, vocab], rows = 1 (kLast) or T (kAll), and sets cache.length() to
// first_position + T. Throws Error for a token outside the vocabulary or a cache too small.
// Activations of all T tokens are held at once: callers feed long prompts in chunks.
std::vector<float> forward(vk::Context& context, const ModelWeights& weights, KvCache& cache,
                           const ForwardRequest& request);

struct ForwardOutput {
  std::vector<float> logits;        // as forward() returns them
  std::vector<float> final_hidden;  // f32 [rows, H]: the final-norm output, lm_head's input
};

// forward(), also returning the final-norm output of the rows whose logits it returns (what
// last-layer methods need), downloaded in the same submit.
ForwardOutput forward_with_hidden(vk::Context& context, const ModelWeights& weights, KvCache& cache,
                                  const ForwardRequest& request);

}  // namespace vkmoe::model
