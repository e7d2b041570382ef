// The key/value cache of every layer: f32 [capacity, kv_heads, head_dim] for K and for V, the
// layout the attention kernel reads with packed strides. The forward writes the new tokens'
// keys and values straight into it (their projections' output rows are the cache rows).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/vk/context.h"
#include "loaders/model_config.h"

namespace vkmoe::model {

class KvCache {
 public:
  // Checks the cache fits the device before allocating (OutOfDeviceMemory with the numbers).
  KvCache(vk::Context& context, const ModelConfig& config, uint32_t capacity);

  uint32_t capacity() const { return capacity_; }
  // Positions 0..length()-1 hold keys and values.
  uint32_t length() const { return length_; }
  void set_length(uint32_t length);                    // a forward advances it; lowering it rewinds
  uint32_t row_floats() const { return row_floats_; }  // kv_heads * head_dim

  // Rows [first, first + count) of layer `layer`'s K or V.
  vk::BufferSpan keys(uint32_t layer, uint32_t first, uint32_t count) const;
  vk::BufferSpan values(uint32_t layer, uint32_t first, uint32_t count) const;
  vk::BufferSpan keys(uint32_t layer) const { return keys(layer, 0, capacity_); }
  vk::BufferSpan values(uint32_t layer) const { return values(layer, 0, capacity_); }

 private:
  vk::BufferSpan rows(const vk::Buffer& b, uint32_t first, uint32_t count) const;

  uint32_t capacity_ = 0;
  uint32_t length_ = 0;
  uint32_t row_floats_ = 0;
  std::vector<vk::Buffer> k_, v_;
};

}  // namespace vkmoe::model
