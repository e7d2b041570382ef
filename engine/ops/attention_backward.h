// Backward of causal GQA attention (the prefill path of ops::attention) for its inputs:
// dq, and dk / dv for every cached position the queries saw. Scores are recomputed from q
// and k; nothing of the forward is needed but its output.
#pragma once

#include <cstdint>

#include "engine/ops/attention.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct AttentionBackwardArgs {
  AttentionShape shape;  // as the forward was run; the strides also lay out the gradients
  vk::BufferSpan q, k_cache, v_cache;  // the forward's inputs
  vk::BufferSpan out;                  // the forward's output
  vk::BufferSpan d_out;                // ∂loss/∂out, laid out as out
  vk::BufferSpan dq;                   // written, laid out as q
  vk::BufferSpan dk, dv;   // written for positions 0 .. first_position + queries - 1, as the cache
  vk::BufferSpan scratch;  // attention_backward_scratch_bytes(shape); live until the stream ends
  // Testing knob: at most this many keys (stats, dq) or queries (dk/dv) per dispatch; 0 leaves
  // it to the device's loop bound (DeviceInfo::max_loop_iterations).
  uint32_t max_per_dispatch = 0;
};

// Bytes of scratch: the softmax statistics and dout · out of every (query, head).
uint64_t attention_backward_scratch_bytes(const AttentionShape& shape);

// Records the three passes (attention_backward_stats, _dq, _dkv), each in several dispatches
// where the device bounds loop iterations. Throws Error on shapes the spans do not hold, a
// head_dim above 256, or gradients that overlap the inputs.
void attention_backward(vk::Stream& stream, const AttentionBackwardArgs& args);

}  // namespace vkmoe::ops
