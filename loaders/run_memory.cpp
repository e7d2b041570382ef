#include "loaders/run_memory.h"

#include <algorithm>

namespace vkmoe {

RunMemory estimate_run_memory(const ModelConfig& c, std::uint64_t weight_bytes,
                              const RunMemoryOptions& o) {
  RunMemory m;
  m.weights = weight_bytes;

  const auto kv_row = static_cast<std::uint64_t>(2 * c.num_kv_heads * c.head_dim) *
                      static_cast<std::uint64_t>(dtype_block_bytes(o.kv_dtype));
  for (std::int64_t l = 0; l < c.num_layers; ++l) {
    std::int64_t tokens = o.context;
    if (c.attention[l] == AttentionKind::kSliding) tokens = std::min(tokens, c.sliding_window);
    m.kv_cache += kv_row * static_cast<std::uint64_t>(tokens);
  }

  // f32 activations per token of a batch: residual, normed input, q, k, v, attention output,
  // router logits, the widest MLP's gate/up/product (routed: k experts per token, plus the
  // shared expert), the MLP output, and the logits.
  std::int64_t ffn = 0;
  for (std::int64_t l = 0; l < c.num_layers; ++l) {
    ffn = std::max(ffn, c.is_moe(l) ? c.experts_per_token * c.moe_intermediate_size +
                                          c.shared_intermediate_size
                                    : c.intermediate_size);
  }
  const std::int64_t q = c.num_heads * c.head_dim;
  const std::int64_t kv = c.num_kv_heads * c.head_dim;
  const std::int64_t per_token = 4 * c.hidden_size + 2 * q + 2 * kv + c.num_experts + 3 * ffn +
                                 c.experts_per_token * c.hidden_size + c.vocab_size;
  m.scratch = static_cast<std::uint64_t>(o.batch) * static_cast<std::uint64_t>(per_token) * 4;
  return m;
}

}  // namespace vkmoe
