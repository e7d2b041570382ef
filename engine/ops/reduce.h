// Row reductions of an f32 [rows, cols] matrix: sums and maxima, one value per row.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

enum class RowReduceOp : uint32_t { sum = 0, max = 1 };  // values match reduce_rows.comp

// out[r] = sum or max over c of x[r, c]; `x` holds rows * cols floats, `out` rows floats.
// Matrices larger than one binding are processed in chunks of rows.
void reduce_rows(vk::Stream& stream, RowReduceOp op, vk::BufferSpan x, vk::BufferSpan out,
                 uint32_t rows, uint32_t cols, RowReduction reduction = RowReduction::automatic);

inline void row_sums(vk::Stream& s, vk::BufferSpan x, vk::BufferSpan out, uint32_t rows,
                     uint32_t cols) {
  reduce_rows(s, RowReduceOp::sum, x, out, rows, cols);
}
inline void row_maxima(vk::Stream& s, vk::BufferSpan x, vk::BufferSpan out, uint32_t rows,
                       uint32_t cols) {
  reduce_rows(s, RowReduceOp::max, x, out, rows, cols);
}

}  // namespace vkmoe::ops
