// Backward of nn.Linear for its input: dX[n, in] (+)= dY[n, out] · W[out, in], the weight
// stored as the forward reads it ([out, in]); shaders/gemm.comp or gemm_shuffle.comp with
// WEIGHT_TRANSPOSED.
// Weight gradients are not computed. For a routed expert stack the rows are routing entries
// gathered per expert (moe_linear_backward).
#pragma once

#include <cstdint>
#include <optional>

#include "engine/ops/expert_product.h"
#include "engine/ops/gemm.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

struct LinearBackwardArgs {
  vk::BufferSpan dy;  // [n rows, out] f32, rows dy_stride elements apart
  vk::BufferSpan w;   // [out rows, in] of w_type (any DType), rows w_stride apart
  vk::BufferSpan dx;  // [n rows, in] f32, rows dx_stride apart (written, or added to)
  DType w_type = DType::f32;
  uint32_t n = 0, out = 0, in = 0;
  // Row strides in elements; 0 means dense (out for dY, in for W and dX).
  uint32_t dy_stride = 0, w_stride = 0, dx_stride = 0;
  bool accumulate = false;  // dX += dY · W (a residual path) instead of dX = dY · W
  // Unset: the shuffle kernel on the devices where it is the forward's default
  // (default_gemm_tiles), else baseline_gemm_tiles(). Shuffle tiles need tm a multiple of 8
  // (8 consecutive output columns per 16-byte load of a W row).
  std::optional<GemmTiles> tiles;
};

// Records dX (+)= dY · W. A W larger than one binding (an lm_head of a large vocabulary) is
// split over its rows, the out dimension the product sums over, each piece adding to dX.
// Throws Error for quantised rows that are not whole blocks (in and w_stride), shuffle tiles
// whose tm is not a multiple of 8, or spans too small.
void linear_backward(vk::Stream& stream, const LinearBackwardArgs& args);

struct MoeLinearBackwardArgs {
  vk::BufferSpan dy;      // f32 [tokens * top_k, out]: one row per routing entry, dense
  ExpertWeights w;        // w_type [experts, out, in]: each expert's nn.Linear weight
  vk::BufferSpan dx;      // f32 [tokens * top_k, in]: one row per entry (written, or added to)
  vk::BufferSpan counts;  // u32 [experts] from moe_router
  vk::BufferSpan lists;   // u32 [experts, tokens] from moe_router
  DType w_type = DType::f32;
  uint32_t experts = 0, out = 0, in = 0, tokens = 0, top_k = 1;
  bool accumulate = false;  // dX += ...: gate and up adding into one per-entry gradient
  std::optional<GemmTiles> tiles;
};

// dX row t·k + j (+)= dY row t·k + j · W_{choice(t, j)} for every routing entry. Rows stay per
// entry (summing a token's entries is moe_combine with unit weights), so no two experts write
// one row.
void moe_linear_backward(vk::Stream& stream, const MoeLinearBackwardArgs& args);

}  // namespace vkmoe::ops
