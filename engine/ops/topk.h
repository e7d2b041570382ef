// Top-k of each row of an f32 [rows, cols] matrix (router scores -> chosen experts).
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

// values[r, :k] = the k largest x[r, :] in descending order; indices[r, :k] (uint32) their
// columns. Ties go to the smaller column index, so the result is unique; NaN ranks above
// +inf. 1 <= k <= cols <= 32768. Fast for cols up to a few hundred (cost grows as cols²),
// correct up to the bound. Matrices larger than one binding are processed in chunks of rows.
void topk(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan values, vk::BufferSpan indices,
          uint32_t rows, uint32_t cols, uint32_t k);

}  // namespace vkmoe::ops
