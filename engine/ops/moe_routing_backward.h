// Backward of a MoE layer's routing for activations: moe_combine (the weighted sum of the
// routed experts' outputs) to each expert's output and routing weight, and the fused router
// (softmax → top-k → optional renormalisation) from the routing weights to the router logits.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct MoeCombineBackwardArgs {
  vk::BufferSpan y;          // f32 [tokens * top_k, columns]: the experts' outputs (forward)
  vk::BufferSpan weights;    // f32 [tokens, top_k]: the routing weights (forward)
  vk::BufferSpan d_out;      // f32 [tokens, columns]: ∂loss/∂out
  vk::BufferSpan dy;         // f32 [tokens * top_k, columns] (written)
  vk::BufferSpan d_weights;  // f32 [tokens, top_k] (written)
  uint32_t tokens = 0, columns = 0, top_k = 1;
  RowReduction reduction = RowReduction::automatic;
};

// dy[t·k + j] = weights[t, j] · d_out[t] (Bayesian-MoE's g, routing weight included) and
// d_weights[t, j] = ⟨y[t·k + j], d_out[t]⟩. Outputs must not overlap inputs. Tokens are
// processed in chunks when the tensors are larger than one binding.
void moe_combine_backward(vk::Stream& stream, const MoeCombineBackwardArgs& args);

struct MoeRouterBackwardArgs {
  vk::BufferSpan logits;     // f32 [tokens, experts]: the router logits (forward)
  vk::BufferSpan choices;    // u32 [tokens, top_k]: moe_router's choices
  vk::BufferSpan d_weights;  // f32 [tokens, top_k]: ∂loss/∂routing weights
  vk::BufferSpan d_logits;   // f32 [tokens, experts] (written)
  uint32_t tokens = 0, experts = 0, top_k = 1;
  bool renormalise = false;  // norm_topk_prob, as in the forward
  RowReduction reduction = RowReduction::automatic;
};

// ∂loss/∂logits through softmax and the top-k selection (held fixed: its derivative is zero
// almost everywhere) and, with `renormalise`, the division by the chosen probabilities' sum.
void moe_router_backward(vk::Stream& stream, const MoeRouterBackwardArgs& args);

}  // namespace vkmoe::ops
