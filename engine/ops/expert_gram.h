// The Kronecker factors of KFAC for the routed experts (DESIGN.md "Bayesian-MoE"):
//   gram_e (+)= Σ_{r in rows[offsets[e] .. offsets[e + 1])} x_r x_rᵀ,   x_r = row r of X
// summed in list order. X holds rows gathered across many examples (the down_proj inputs a for
// the factor A, the gradients g at the down_proj outputs of every backward pass for the factor
// G) and each expert's list names its rows, so one dispatch covers a group of experts and each
// expert's sum runs over all its rows at once — a GEMM with a long contraction rather than one
// launch per example. f32 in, f32 out.
#pragma once

#include <cstdint>

#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct ExpertGramArgs {
  vk::BufferSpan x;        // f32 [x_rows, n], x_stride apart
  vk::BufferSpan offsets;  // u32 [experts + 1], ascending: expert e's part of `rows`
  vk::BufferSpan rows;     // u32 [offsets[experts]]: row indices of X, each < x_rows
  vk::BufferSpan gram;     // f32 [experts, n, n]: written, or added to
  uint32_t experts = 0;
  uint32_t n = 0;
  uint32_t x_rows = 0;    // rows X holds
  uint32_t listed = 0;    // offsets[experts]: the entries of `rows` (all experts together)
  uint32_t longest = 0;   // the longest expert list: bounds the loop, not checked by the kernel
  uint32_t x_stride = 0;  // 0: n
  bool accumulate = false;
  // Read X as RGBA32UI texels where the device and the layout allow it (false: always the
  // storage-buffer kernel, which tests compare against).
  bool read_x_as_texels = true;
};

// Records the accumulation. Throws Error when a span is smaller than the shape, X or the gram
// matrices do not fit one binding, or the device has no subgroup shuffle. The lists are not
// read on the host: offsets and row indices outside the shape are the caller's bug.
void expert_gram(vk::Stream& stream, const ExpertGramArgs& args);

// Whether expert_gram reads X as texels for these arguments on this device (or through storage
// buffers): tests run both kernels.
bool expert_gram_reads_texels(const vk::Context& context, const ExpertGramArgs& args);

}  // namespace vkmoe::ops
