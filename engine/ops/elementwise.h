// Elementwise f32 kernels: add, mul, silu, SwiGLU.
#pragma once

#include "engine/vk/stream.h"

namespace vkmoe::ops {

enum class ElementwiseOp : uint32_t { add = 0, mul = 1, silu = 2, swiglu = 3 };

// out = op(a, b) over `count` floats; `b` is ignored by silu. Spans may be any size; tensors
// larger than one binding are processed in chunks.
void elementwise(vk::Stream& stream, ElementwiseOp op, vk::BufferSpan a, vk::BufferSpan b,
                 vk::BufferSpan out, uint64_t count);

inline void add(vk::Stream& s, vk::BufferSpan a, vk::BufferSpan b, vk::BufferSpan out, uint64_t n) {
  elementwise(s, ElementwiseOp::add, a, b, out, n);
}
inline void mul(vk::Stream& s, vk::BufferSpan a, vk::BufferSpan b, vk::BufferSpan out, uint64_t n) {
  elementwise(s, ElementwiseOp::mul, a, b, out, n);
}
inline void silu(vk::Stream& s, vk::BufferSpan x, vk::BufferSpan out, uint64_t n) {
  elementwise(s, ElementwiseOp::silu, x, x, out, n);
}
// out = silu(gate) * up
inline void swiglu(vk::Stream& s, vk::BufferSpan gate, vk::BufferSpan up, vk::BufferSpan out,
                   uint64_t n) {
  elementwise(s, ElementwiseOp::swiglu, gate, up, out, n);
}

}  // namespace vkmoe::ops
