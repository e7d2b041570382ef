#include "engine/bayes/model_fingerprint.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <vector>

#include "loaders/model_description.h"

namespace vkmoe::bayes {

std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash) {
  constexpr std::uint64_t kPrime = 1099511628211ull;
  for (char c : bytes) {
    hash ^= static_cast<std::uint8_t>(c);
    hash *= kPrime;
  }
  return hash;
}

namespace {

// The settings as "key=value;" text: readable when debugging, and free of padding bytes or
// host endianness. Doubles by their bit pattern, so 1e-6 and 1.0000000001e-6 differ.
std::string settings_text(const ModelConfig& c) {
  std::string s;
  auto add = [&s](std::string_view key, auto value) {
    s += key;
    s += '=';
    if constexpr (std::is_same_v<decltype(value), double>) {
      s += std::to_string(std::bit_cast<std::uint64_t>(value));
    } else {
      s += std::to_string(value);
    }
    s += ';';
  };
  s +=
      "arch=" + std::string(arch_name(c.arch)) + ";dtype=" + std::string(dtype_name(c.dtype)) + ";";
  add("vocab", c.vocab_size);
  add("hidden", c.hidden_size);
  add("layers", c.num_layers);
  add("heads", c.num_heads);
  add("kv_heads", c.num_kv_heads);
  add("head_dim", c.head_dim);
  add("intermediate", c.intermediate_size);
  add("rms_norm_eps", c.rms_norm_eps);
  add("rope_theta", c.rope_theta);
  add("rope_scaling", static_cast<int>(c.rope_scaling));
  add("rope_scaling_factor", c.rope_scaling_factor);
  add("attention_bias", static_cast<int>(c.attention_bias));
  add("tie_word_embeddings", static_cast<int>(c.tie_word_embeddings));
  add("experts", c.num_experts);
  add("top_k", c.experts_per_token);
  add("moe_intermediate", c.moe_intermediate_size);
  add("norm_topk_prob", static_cast<int>(c.norm_topk_prob));
  add("routed_scaling_factor", c.routed_scaling_factor);
  add("shared_experts", c.num_shared_experts);
  add("shared_intermediate", c.shared_intermediate_size);
  add("shared_expert_gated", static_cast<int>(c.shared_expert_gated));
  s += "ffn=";
  for (FfnKind k : c.ffn) s += k == FfnKind::kMoe ? 'M' : 'D';
  s += ";attention=";
  for (AttentionKind k : c.attention) s += k == AttentionKind::kSliding ? 'S' : 'F';
  s += ';';
  add("sliding_window", c.sliding_window);
  return s;
}

}  // namespace

std::uint64_t model_fingerprint(const ModelConfig& config) {
  std::vector<std::string> tensors;
  for (const TensorSpec& t : describe_tensors(config, ExpertLayout::kPerExpert)) {
    std::string line = t.name + ":" + std::string(dtype_name(config.dtype)) + ":[";
    for (std::int64_t d : t.shape) line += std::to_string(d) + ",";
    tensors.push_back(line + "]");
  }
  std::sort(tensors.begin(), tensors.end());
  std::uint64_t hash = fnv1a64(settings_text(config));
  for (const std::string& t : tensors) hash = fnv1a64(t + "\n", hash);
  return hash;
}

std::string fingerprint_hex(std::uint64_t fingerprint) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fingerprint));
  return buf;
}

}  // namespace vkmoe::bayes
