// Rotary position embedding (RoPE) in the NeoX / Hugging Face `rotate_half` layout.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct RopeShape {
  uint32_t tokens = 0;
  uint32_t heads = 0;
  uint32_t head_dim = 0;
  uint32_t rotary_dim = 0;  // even, <= head_dim; 0 means head_dim. The rest passes through.
};

// An f32 tensor viewed as [tokens, heads, head_dim] with strides in floats, so q and k views
// inside a fused qkv tensor work. Strides of 0 mean contiguous (heads * head_dim, head_dim).
struct RopeTensor {
  vk::BufferSpan span;  // starts at element [0, 0, 0]
  uint32_t token_stride = 0;
  uint32_t head_stride = 0;
};

// forward: rotate by +angle (the model's RoPE); inverse: by −angle, the transpose of the
// forward rotation, which maps ∂loss/∂out to ∂loss/∂x (RoPE's backward, ops::rope_backward).
enum class RopeDirection { forward, inverse };

// For i < rotary_dim/2, with angle = float(positions[t]) * inv_freq[i] in f32 (as HF):
//   out[t, h, i]     = x[t, h, i] cos - x[t, h, i + rotary_dim/2] sin
//   out[t, h, i + rotary_dim/2] = x[t, h, i + rotary_dim/2] cos + x[t, h, i] sin
// `positions` holds `tokens` uint32, `inv_freq` rotary_dim/2 floats (rope_inv_freq, or a
// scaled variant). `out` may be `x` with the same strides (in place); otherwise the two must
// not overlap. Tensors larger than one binding are processed in chunks of tokens.
void rope(vk::Stream& stream, const RopeShape& shape, const RopeTensor& x, vk::BufferSpan positions,
          vk::BufferSpan inv_freq, const RopeTensor& out,
          RopeDirection direction = RopeDirection::forward);

// Hugging Face's default inverse frequencies, computed in f32 as `_compute_default_rope_
// parameters` does: 1 / theta^(float(2i) / rotary_dim) for i < rotary_dim/2. Done once per
// model on the host: GLSL's pow is too coarse (3 + 2|x| ulp) for angles in the thousands.
std::vector<float> rope_inv_freq(float theta, uint32_t rotary_dim);

}  // namespace vkmoe::ops
