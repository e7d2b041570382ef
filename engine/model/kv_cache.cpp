#include "engine/model/kv_cache.h"

#include <string>

#include "engine/model/device_memory.h"
#include "engine/vk/error.h"

namespace vkmoe::model {

KvCache::KvCache(vk::Context& context, const ModelConfig& config, uint32_t capacity)
    : capacity_(capacity),
      row_floats_(static_cast<uint32_t>(config.num_kv_heads * config.head_dim)) {
  if (capacity == 0) throw Error("KV cache: capacity must be at least one token");
  const uint64_t one = uint64_t{capacity} * row_floats_ * sizeof(float);
  const auto layers = static_cast<uint64_t>(config.num_layers);
  require_device_memory(context, 2 * layers * one,
                        "the KV cache (" + std::to_string(capacity) + " tokens, f32)");
  for (uint64_t l = 0; l < layers; ++l) {
    k_.push_back(context.create_buffer(one, "kv cache k" + std::to_string(l)));
    v_.push_back(context.create_buffer(one, "kv cache v" + std::to_string(l)));
  }
}

void KvCache::set_length(uint32_t length) {
  if (length > capacity_) {
    throw Error("KV cache: " + std::to_string(length) + " positions do not fit its capacity of " +
                std::to_string(capacity_));
  }
  length_ = length;
}

vk::BufferSpan KvCache::rows(const vk::Buffer& b, uint32_t first, uint32_t count) const {
  if (uint64_t{first} + count > capacity_) {
    throw Error("KV cache: rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") past its capacity of " + std::to_string(capacity_));
  }
  const uint64_t row = uint64_t{row_floats_} * sizeof(float);
  return b.span(first * row, count * row);
}

vk::BufferSpan KvCache::keys(uint32_t layer, uint32_t first, uint32_t count) const {
  return rows(k_.at(layer), first, count);
}

vk::BufferSpan KvCache::values(uint32_t layer, uint32_t first, uint32_t count) const {
  return rows(v_.at(layer), first, count);
}

}  // namespace vkmoe::model
