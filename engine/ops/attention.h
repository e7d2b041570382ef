// Causal multi-head attention with grouped-query heads over a KV cache, softmax in f32.
// Prefill (several new tokens) uses a tiled online-softmax kernel; decode (one new token)
// a split-K kernel over the cache followed by a merge of the splits.
#pragma once

#include <cstdint>
#include <string>

#include "engine/vk/device_info.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// Layouts are given by strides in floats, so q/k/v can be views into fused tensors:
//   q[t, h, d]   at t * q_token_stride   + h * q_head_stride   + d
//   k/v[s, g, d] at s * kv_token_stride  + g * kv_head_stride  + d   (the cache, s = position)
//   out[t, h, d] at t * out_token_stride + h * out_head_stride + d
// Query t is at absolute position first_position + t and attends to keys 0..that position,
// which must already be in the cache. Query head h reads key/value head h / (q_heads/kv_heads).
struct AttentionShape {
  uint32_t queries = 1;
  uint32_t first_position = 0;
  uint32_t q_heads = 1;
  uint32_t kv_heads = 1;
  uint32_t head_dim = 64;
  float scale = 0;  // 0: 1/sqrt(head_dim)
  uint32_t q_token_stride = 0, q_head_stride = 0;
  uint32_t kv_token_stride = 0, kv_head_stride = 0;
  uint32_t out_token_stride = 0, out_head_stride = 0;

  // Densely packed [tokens, heads, head_dim] layouts for all three.
  static AttentionShape packed(uint32_t queries, uint32_t first_position, uint32_t q_heads,
                               uint32_t kv_heads, uint32_t head_dim);

  // Bytes each view spans (f32): q (and dq), k/v over every cached position, out.
  uint64_t q_bytes() const;
  uint64_t kv_bytes() const;
  uint64_t out_bytes() const;
  // Throws an Error naming the kernel `op`, the shape, and why.
  [[noreturn]] void fail(const char* op, const std::string& why) const;
  // Non-empty, whole groups of query heads per key/value head, head_dim the kernels support.
  void check_heads(const char* op) const;
};

// Bytes of scratch a shape needs on a device: the decode path's split partials, or the running
// state of a prefill covered in several dispatches (devices that bound loop iterations).
uint64_t attention_scratch_bytes(const vk::DeviceInfo& device, const AttentionShape& shape);

// `scratch` must hold attention_scratch_bytes(...) and stay alive until the stream finishes.
void attention(vk::Stream& stream, vk::BufferSpan q, vk::BufferSpan k_cache, vk::BufferSpan v_cache,
               vk::BufferSpan out, vk::BufferSpan scratch, const AttentionShape& shape);

}  // namespace vkmoe::ops
