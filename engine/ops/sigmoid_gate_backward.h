// Backward of the sigmoid-gated add (ops::add_sigmoid_gated: x += σ(z) · y, Qwen2-MoE's shared
// expert scaled by sigmoid(shared_expert_gate · hidden)) for y and the gate logit z.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct SigmoidGateBackwardArgs {
  vk::BufferSpan z;      // f32 [rows]: the gate logits (forward)
  vk::BufferSpan y;      // f32 [rows, cols]: the gated input (forward)
  vk::BufferSpan d_out;  // f32 [rows, cols]: ∂loss/∂x after the add
  vk::BufferSpan dy;     // f32 [rows, cols] (written, or added to)
  vk::BufferSpan dz;     // f32 [rows] (written)
  uint32_t rows = 0, cols = 0;
  bool accumulate = false;
  RowReduction reduction = RowReduction::automatic;
};

// dy (+)= σ(z) · d_out per row; dz = σ(z)(1 − σ(z)) · ⟨y, d_out⟩. Outputs must not overlap
// the inputs. Rows are processed in chunks when larger than one binding.
void sigmoid_gate_backward(vk::Stream& stream, const SigmoidGateBackwardArgs& args);

}  // namespace vkmoe::ops
