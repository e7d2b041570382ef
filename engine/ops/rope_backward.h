// Backward of RoPE for its input: the forward rotates each pair by +angle, an orthogonal
// map, so ∂loss/∂x is ∂loss/∂out rotated by −angle (the passed-through tail copied).
#pragma once

#include "engine/ops/rope.h"

namespace vkmoe::ops {

// dx = R(−angle) · dy with the forward's shape, positions and inverse frequencies; the same
// views, strides and in-place rules as ops::rope.
inline void rope_backward(vk::Stream& stream, const RopeShape& shape, const RopeTensor& dy,
                          vk::BufferSpan positions, vk::BufferSpan inv_freq, const RopeTensor& dx) {
  rope(stream, shape, dy, positions, inv_freq, dx, RopeDirection::inverse);
}

}  // namespace vkmoe::ops
