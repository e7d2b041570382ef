// Backward of the multiple-choice cross-entropy at the scoring position (the loss Bayesian-MoE's
// curvature differentiates) to the next-token logits over the whole vocabulary.
#pragma once

#include <cstdint>

#include "engine/ops/row_kernel.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct ChoiceLossBackwardArgs {
  vk::BufferSpan logits;    // f32 [rows, vocab]: the logits at each example's scoring position
  vk::BufferSpan answers;   // u32 [choices]: the answer label tokens, distinct
  vk::BufferSpan targets;   // f32 [rows, choices]: label weights (one-hot for a true label)
  vk::BufferSpan d_logits;  // f32 [rows, vocab] (written; zero outside the answers)
  uint32_t rows = 0, vocab = 0, choices = 0;
  RowReduction reduction = RowReduction::automatic;
};

// loss(row) = −Σ_c targets[c] · log softmax_c(logits[answers[c]]) over the C answers; writes
// d logits[answers[c]] = (Σ targets) · P_c − targets[c] and 0 elsewhere. Throws Error for more
// answers than a workgroup holds, answers outside the vocabulary are the caller's to avoid.
void choice_loss_backward(vk::Stream& stream, const ChoiceLossBackwardArgs& args);

}  // namespace vkmoe::ops
