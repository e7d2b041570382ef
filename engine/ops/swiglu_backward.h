// Backward of SwiGLU (ops::swiglu: a = silu(gate) · up) for both inputs.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct SwigluBackwardArgs {
  vk::BufferSpan gate, up;      // f32 [count]: the forward's inputs
  vk::BufferSpan da;            // f32 [count]: ∂loss/∂a
  vk::BufferSpan d_gate, d_up;  // f32 [count] (written)
  uint64_t count = 0;
};

// d_up = da · silu(gate), d_gate = da · up · σ(gate) · (1 + gate · (1 − σ(gate))). The outputs
// must not overlap the inputs or each other. Tensors larger than one binding run in chunks.
void swiglu_backward(vk::Stream& stream, const SwigluBackwardArgs& args);

}  // namespace vkmoe::ops
