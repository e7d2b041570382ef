// Draws from the low-rank KFAC Laplace posterior of every routed expert's down_proj in one
// layer, on the GPU (shaders/posterior_sample.comp; DESIGN.md "Bayesian-MoE", sampling):
//   W_sample = W_MAP + λ^{-½} Z + Q_G [((λᴳλᴬᵀ/(M·T) + λ)^{-½} − λ^{-½}) ∘ (Q_Gᵀ Z Q_A)] Q_Aᵀ
// Z is drawn by Philox4x32-10 at counter (h·I + i, expert, stream_id, draw) under `seed`, so a
// (seed, stream_id, draw) reproduces a sample bit for bit on a given device, and draws for
// different layers (stream_id) or draws are independent.
#pragma once

#include <cstdint>

#include "engine/ops/launch.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct PosteriorSampleArgs {
  // The posterior of the layer, f32, every expert's eigenvectors zero-padded to `rank`.
  vk::BufferSpan q_g;         // [experts, h, rank]  eigenvectors of G (columns)
  vk::BufferSpan q_a;         // [experts, i, rank]  eigenvectors of A
  vk::BufferSpan spectra;     // [experts, 2·rank + 1]: eigenvalues of G, of A, then M (routed
                              // tokens behind the factors; 0 for an expert that saw none)
  vk::BufferSpan work;        // scratch f32 [experts, h, rank]
  vk::BufferSpan core;        // scratch f32 [experts, rank, rank]
  vk::BufferSpan w_map;       // w_type [experts, h, i]: the fine-tuned down_proj weights
  vk::BufferSpan w_out;       // sample_type() [experts, h, i]: the sample (written; not w_map)
  DType w_type = DType::f32;  // any DType; quantised rows (i) are whole blocks
  uint32_t experts = 0, h = 0, i = 0, rank = 0;
  uint64_t seed = 0;
  uint32_t stream_id = 0, draw = 0;
  float lambda = 1.0f;       // prior precision, > 0
  float temperature = 1.0f;  // T, > 0
};

// The type the sample is written in: W_MAP's own for f32, f16 and bf16; f16 for the GGUF quants,
// whose blocks cannot be written element by element (the caller points the forward at it).
DType sample_type(DType w_type);

// Records the four passes. Throws Error for non-positive sizes or λ, T, spans smaller than the
// shape, quantised rows of part blocks, or posterior buffers larger than one binding (W is bound
// a group of experts at a time).
void sample_posterior(vk::Stream& stream, const PosteriorSampleArgs& args);

}  // namespace vkmoe::ops
