// The backward pass for activations of a whole model (Bayesian-MoE's curvature, DESIGN.md): from
// the cross-entropy over the C answer-label logits at the scoring position back through lm_head,
// the final norm and every layer — attention (RoPE, GQA), both RMSNorms, the MoE block with its
// router path (softmax → top-k → renormalisation, choices held fixed), routed experts, Qwen's
// sigmoid-gated shared expert, DeepSeek's ungated shared experts and dense layers — to every
// routed expert's down_proj output. Weight gradients are not computed.
//
// All of it is recorded into one stream over a SavedForward's activations; the host waits once,
// at the end, and reads nothing in between.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/model_weights.h"
#include "engine/model/saved_forward.h"

namespace vkmoe::model {

// The loss: −Σ_c targets[c] · log softmax_c(logits[answers[c]]) at the last prompt token.
struct ChoiceLoss {
  std::span<const uint32_t> answers;  // C distinct label tokens
  std::span<const float> targets;     // C weights: one-hot for a true label
};

// What KFAC reads of one MoE layer; routing entry t·top_k + j is token t's j-th choice.
struct MoeLayerActivations {
  uint32_t layer = 0;
  uint32_t entries = 0;  // tokens · top_k
  vk::BufferSpan g;  // f32 [entries, H]: ∂loss/∂(down_proj output y), routing weight included
  vk::BufferSpan a;  // f32 [entries, I]: the down_proj input silu(gate x) · up x
  vk::BufferSpan y;  // f32 [entries, H]: the down_proj output (forward)
  vk::BufferSpan choices;  // u32 [entries]: the expert of each entry
  vk::BufferSpan counts;   // u32 [E] and u32 [E, T]: moe_router's per-expert lists
  vk::BufferSpan lists;
};

class ActivationGradients {
 public:
  // One per MoE layer, in layer order; a, y and the routing views point into `forward`, which
  // must outlive this.
  const std::vector<MoeLayerActivations>& moe_layers() const { return moe_layers_; }

 private:
  friend ActivationGradients backward(vk::Context&, const ModelWeights&, const SavedForward&,
                                      const ChoiceLoss&);
  std::vector<vk::Buffer> g_;
  std::vector<MoeLayerActivations> moe_layers_;
};

// Records and runs the backward; throws Error for targets that do not match the answers or an
// answer outside the vocabulary. Weights may be of any DType (linear_backward reads them as
// stored, GGUF blocks included).
ActivationGradients backward(vk::Context& context, const ModelWeights& weights,
                             const SavedForward& forward, const ChoiceLoss& loss);

}  // namespace vkmoe::model
