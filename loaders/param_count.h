// Parameter counts of a model from its config alone (no weights read).
//
// Convention (the one the model cards use): "total" is every parameter in the checkpoint;
// "active" is what one token touches: everything except the routed experts the router did not
// pick ((E − k) of E per MoE layer), so embeddings, lm_head, attention, norms, routers, shared
// experts and dense layers all count. Qwen1.5-MoE-A2.7B: 14.3B / 2.7B; DeepSeek-MoE-16B:
// 16.4B / 2.8B.
#pragma once

#include <cstdint>

#include "loaders/model_config.h"

namespace vkmoe {

struct ParamCount {
  std::uint64_t total = 0;
  std::uint64_t active = 0;          // per token
  std::uint64_t embedding = 0;       // token embedding + lm_head (once when tied)
  std::uint64_t routed_experts = 0;  // all routed experts of all layers
};

ParamCount count_params(const ModelConfig& c);

}  // namespace vkmoe
