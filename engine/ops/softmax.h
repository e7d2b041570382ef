// Row softmax of an f32 [rows, cols] matrix, numerically safe (the row maximum is subtracted).
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct SoftmaxOptions {
  float scale = 1.0f;  // y = softmax(scale * x), e.g. 1/sqrt(head_dim) for attention scores
  RowReduction reduction = RowReduction::automatic;
};

// out[r, :] = softmax(scale * x[r, :]). A row whose entries are all -inf (fully masked) gives
// zeros, not torch's NaN. `out` may be `x` (in place). Matrices larger than one binding are
// processed in chunks of rows.
void softmax(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan out, uint32_t rows, uint32_t cols,
             SoftmaxOptions options = {});

}  // namespace vkmoe::ops
