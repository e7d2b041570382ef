// The device memory a run needs, estimated from the config and the weight bytes, without
// touching the weights: what `vkmoe info` prints and what a run checks before allocating.
#pragma once

#include <cstdint>

#include "loaders/dtype.h"
#include "loaders/model_config.h"

namespace vkmoe {

struct RunMemoryOptions {
  std::int64_t context = 4096;  // tokens of KV cache
  std::int64_t batch = 512;     // tokens processed per forward step (prefill chunk)
  DType kv_dtype = DType::kF16;
};

struct RunMemory {
  std::uint64_t weights = 0;
  std::uint64_t kv_cache = 0;  // K and V for every layer (sliding layers: their window)
  std::uint64_t scratch = 0;   // activations of one batch, expert-batched buffers, logits
  std::uint64_t total() const { return weights + kv_cache + scratch; }
};

RunMemory estimate_run_memory(const ModelConfig& c, std::uint64_t weight_bytes,
                              const RunMemoryOptions& options = {});

}  // namespace vkmoe
