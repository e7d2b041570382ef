// In-place updates of an f32 matrix [rows, cols] by a broadcast vector.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

// x[r, c] += bias[c]: an nn.Linear bias (Qwen2's q/k/v projections).
void add_bias(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan bias, uint32_t rows,
              uint32_t cols);

// x[r, c] += sigmoid(gate[r]) * y[r, c]: Qwen2-MoE adds its shared expert's output scaled by
// sigmoid(shared_expert_gate · hidden).
void add_sigmoid_gated(vk::Stream& stream, vk::BufferSpan x, vk::BufferSpan gate, vk::BufferSpan y,
                       uint32_t rows, uint32_t cols);

}  // namespace vkmoe::ops
