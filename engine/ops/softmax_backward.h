// Backward of a row softmax (ops::softmax, the router's probabilities) through its output.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct SoftmaxBackwardArgs {
  vk::BufferSpan probabilities;  // f32 [rows, cols]: the forward's output p
  vk::BufferSpan dp;             // f32 [rows, cols]: ∂loss/∂p
  vk::BufferSpan dx;             // f32 [rows, cols]: ∂loss/∂logits (written, or added to)
  uint32_t rows = 0, cols = 0;
  bool accumulate = false;
  RowReduction reduction = RowReduction::automatic;
};

// dx = p ∘ (dp − Σ_c p dp), per row. dx must not overlap the inputs. Matrices larger than one
// binding are processed in row chunks.
void softmax_backward(vk::Stream& stream, const SoftmaxBackwardArgs& args);

}  // namespace vkmoe::ops
