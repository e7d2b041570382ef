// Backward of RMSNorm (ops::rmsnorm) for its input; weight gradients are not computed.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct RmsNormBackwardArgs {
  vk::BufferSpan x;       // f32 [rows, cols]: the forward's input
  vk::BufferSpan weight;  // f32 [cols]
  vk::BufferSpan dy;      // f32 [rows, cols]: ∂loss/∂out
  vk::BufferSpan dx;      // f32 [rows, cols]: ∂loss/∂x (written, or added to)
  uint32_t rows = 0, cols = 0;
  float eps = 1e-6f;
  bool accumulate = false;  // dx += ... (the residual stream's gradient)
  RowReduction reduction = RowReduction::automatic;
};

// With r = 1/sqrt(mean_c x² + eps): dx = r · w ∘ dy − x · r³/cols · Σ_c w dy x, per row.
// dx must not overlap x or dy. Matrices larger than one binding are processed in row chunks.
void rmsnorm_backward(vk::Stream& stream, const RmsNormBackwardArgs& args);

}  // namespace vkmoe::ops
