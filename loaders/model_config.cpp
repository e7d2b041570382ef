#include "loaders/model_config.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "loaders/load_error.h"

namespace vkmoe {

std::string_view arch_name(Arch a) {
  switch (a) {
    case Arch::kQwen2Moe:
      return "qwen2_moe";
    case Arch::kDeepseek:
      return "deepseek";
  }
  return "?";
}

std::int64_t ModelConfig::num_moe_layers() const {
  return std::count(ffn.begin(), ffn.end(), FfnKind::kMoe);
}

void check_model_config(const ModelConfig& c, std::string_view file) {
  const auto fail = [&](const std::string& what) {
    throw LoadError(std::string(file) + ": " + what);
  };
  const auto in_range = [&](std::int64_t v, std::int64_t lo, std::int64_t hi, const char* what) {
    if (v < lo || v > hi) {
      fail(std::string(what) + " is " + std::to_string(v) + ", expected " + std::to_string(lo) +
           ".." + std::to_string(hi));
    }
  };
  in_range(c.vocab_size, 1, kMaxVocab, "vocab size");
  in_range(c.hidden_size, 1, kMaxWidth, "hidden size");
  in_range(c.num_layers, 1, kMaxLayers, "layer count");
  in_range(c.num_heads, 1, kMaxHeads, "attention head count");
  in_range(c.num_kv_heads, 1, kMaxHeads, "key/value head count");
  in_range(c.head_dim, 1, kMaxWidth, "head dim");
  if (c.num_heads % c.num_kv_heads != 0) {
    fail(std::to_string(c.num_heads) + " attention heads are not a multiple of " +
         std::to_string(c.num_kv_heads) + " key/value heads");
  }
  if (c.num_heads * c.head_dim > kMaxWidth) {
    fail(std::to_string(c.num_heads) + " heads × head dim " + std::to_string(c.head_dim) +
         " exceeds " + std::to_string(kMaxWidth));
  }
  if (c.head_dim % 2 != 0)
    fail("head dim " + std::to_string(c.head_dim) + " is odd (RoPE needs pairs)");
  if (static_cast<std::int64_t>(c.ffn.size()) != c.num_layers ||
      static_cast<std::int64_t>(c.attention.size()) != c.num_layers) {
    fail("per-layer lists do not have one entry per layer");
  }
  if (std::find(c.ffn.begin(), c.ffn.end(), FfnKind::kDense) != c.ffn.end()) {
    in_range(c.intermediate_size, 1, kMaxWidth, "dense intermediate size");
  }
  if (c.num_moe_layers() > 0) {
    in_range(c.num_experts, 1, kMaxExperts, "expert count");
    in_range(c.experts_per_token, 1, c.num_experts, "experts per token");
    in_range(c.moe_intermediate_size, 1, kMaxWidth, "expert intermediate size");
    in_range(c.shared_intermediate_size, 0, kMaxWidth, "shared expert intermediate size");
    if (c.num_moe_layers() * c.num_experts > kMaxRoutedExpertsTotal) {
      fail(std::to_string(c.num_moe_layers()) + " MoE layers × " + std::to_string(c.num_experts) +
           " experts exceeds the limit of " + std::to_string(kMaxRoutedExpertsTotal) +
           " routed experts");
    }
  }
  if (std::find(c.attention.begin(), c.attention.end(), AttentionKind::kSliding) !=
          c.attention.end() &&
      c.sliding_window <= 0) {
    fail("sliding-window layers need a positive sliding_window");
  }
  if (!(std::isfinite(c.rope_theta) && c.rope_theta > 0)) {
    fail("rope theta " + std::to_string(c.rope_theta) + " is not a positive number");
  }
  if (!(std::isfinite(c.rms_norm_eps) && c.rms_norm_eps > 0)) {
    fail("rms_norm_eps " + std::to_string(c.rms_norm_eps) + " is not a positive number");
  }
}

}  // namespace vkmoe
