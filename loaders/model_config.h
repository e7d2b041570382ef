// What the engine needs to know about a model, whichever file it came from (HF config.json or
// GGUF metadata). Enums, not strings: names only appear at the edges.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "loaders/dtype.h"

namespace vkmoe {

enum class Arch : std::uint8_t {
  kQwen2Moe,  // HF model_type "qwen2_moe", GGUF "qwen2moe"
  kDeepseek,  // HF model_type "deepseek",  GGUF "deepseek"
};
std::string_view arch_name(Arch a);  // the HF model_type

enum class AttentionKind : std::uint8_t { kFull, kSliding };
enum class FfnKind : std::uint8_t { kDense, kMoe };
enum class RopeScaling : std::uint8_t { kNone, kLinear, kDynamic, kYarn, kOther };

struct ModelConfig {
  Arch arch = Arch::kQwen2Moe;
  DType dtype = DType::kF32;  // of the weights, as the config states it

  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_layers = 0;
  std::int64_t num_heads = 0;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t intermediate_size = 0;  // dense MLP (Qwen mlp_only layers, DeepSeek leading layers)
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_scaling_factor = 1.0;
  bool attention_bias = false;  // q/k/v biases (Qwen: yes; DeepSeek: attention_bias)
  bool tie_word_embeddings = false;

  // Routed experts.
  std::int64_t num_experts = 0;
  std::int64_t experts_per_token = 0;
  std::int64_t moe_intermediate_size = 0;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;

  // Shared experts, as one MLP of width shared_intermediate_size (0: none). Qwen: one
  // shared_expert scaled by sigmoid(shared_expert_gate · x); DeepSeek: n_shared_experts ungated
  // experts fused into one MLP of n_shared_experts × moe_intermediate_size.
  std::int64_t num_shared_experts = 0;
  std::int64_t shared_intermediate_size = 0;
  bool shared_expert_gated = false;

  std::vector<FfnKind> ffn;              // per layer
  std::vector<AttentionKind> attention;  // per layer
  std::int64_t sliding_window = 0;       // 0: no sliding-window layers

  std::optional<std::int64_t> bos_token_id;
  std::vector<std::int64_t> eos_token_ids;

  bool is_moe(std::int64_t layer) const { return ffn.at(layer) == FfnKind::kMoe; }
  std::int64_t num_moe_layers() const;
};

// Limits on what a config may ask for: far above any real model, low enough that describing
// the model's tensors and counting its parameters cannot overflow or exhaust memory.
inline constexpr std::int64_t kMaxLayers = 4096;
inline constexpr std::int64_t kMaxWidth = std::int64_t{1} << 20;  // hidden, intermediate, head_dim
inline constexpr std::int64_t kMaxVocab = std::int64_t{1} << 24;
inline constexpr std::int64_t kMaxHeads = std::int64_t{1} << 14;
inline constexpr std::int64_t kMaxExperts = std::int64_t{1} << 14;
inline constexpr std::int64_t kMaxRoutedExpertsTotal = std::int64_t{1} << 16;  // layers × experts

// Consistency of a filled-in config (heads divide, top-k ≤ experts, one entry per layer,
// limits); the readers check each field's range as they read it. Throws LoadError "<file>: ...".
void check_model_config(const ModelConfig& c, std::string_view file);

}  // namespace vkmoe
