// RMSNorm of an f32 [rows, cols] matrix, as Hugging Face Qwen2-MoE and DeepSeek define it.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// out[r, c] = weight[c] * (x[r, c] / sqrt(mean_c x[r, c]^2 + eps)), statistics in f32, the
// weight applied as stored (no +1). `weight` holds cols floats; `out` may be `x` (in place).
// Matrices larger than one binding are processed in chunks of rows.
void rmsnorm(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan weight, vk::BufferSpan out,
             uint32_t rows, uint32_t cols, float eps,
             RowReduction reduction = RowReduction::automatic);

}  // namespace vkmoe::ops
