#version 450
// Y[n, m] = X[n, k] . W[m, k]^T like gemm.comp, for devices where shared memory and barriers
// cost more than they save (CPU devices such as lavapipe: an invocation is a SIMD lane, and
// every load whose address differs per lane is a loop over the lanes).
//
// A workgroup is one subgroup of SG invocations and computes (SG * RN) x (SG * TM) tiles,
// no shared memory: one tile where the grid covers the product, every grid-th tile where it does
// not (the expert GEMM). The tile code is gemm_shuffle_tile.glsl. Each step over k, invocation
// i loads its own RN rows of X and TM rows of W (rows n0 + i + q*SG, m0 + i*TM + j, so its
// outputs in a row of Y are consecutive); subgroupShuffle then hands every X value to all
// invocations, so each load feeds SG * RN * TM / (RN + TM) FMAs. With VECTOR = 1 (rows of X
// start on a multiple of 4 elements and rows of plain-type W on a multiple of 8; quantised rows
// are whole blocks; the launcher checks)
// each load brings 8 consecutive k at once. On lavapipe (8 lanes of AVX2) RN = 8 with TM = 4
// (storage reads) or TM = 8 (the texel variants) measured best: the 256 or 512 accumulators per
// invocation live in memory, so the vector path runs the 8 FMAs of one accumulator back to back.
//
// With EXPERTS defined: the expert-batched GEMM of a MoE layer, as described in gemm.comp.
//
// With WEIGHT_TRANSPOSED defined: the backward of nn.Linear for its input, Y[n, m] (+)= X[n, k] .
// W[k, m] with W stored [out, in] as in gemm.comp (X = dY, k = out, m = in; `accumulate` adds
// to Y). W's rows now run along the output columns, so invocation i owns TM consecutive columns
// m0 + i*TM .. and reads them from one W row per k: with VECTOR = 1 (also m and TM multiples of
// 8) as TM / 8 16-byte loads, which gives 8 k x TM columns per 8 loads of W. Loading W rows along
// k instead, as the forward does, would be a strided load per weight: on lavapipe that, and
// not the arithmetic, was what made the tiled transposed GEMM several times slower per FLOP
// than the forward.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_shuffle : require
#define WEIGHT_BINDING 1
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint SG = 8;      // workgroup size = the device's subgroup size
layout(constant_id = 1) const uint TM = 2;      // W rows (output columns) per invocation
layout(constant_id = 2) const uint RN = 2;      // X rows per invocation (SG * RN in the tile)
layout(constant_id = 3) const uint VECTOR = 0;  // 1: 16-byte loads (aligned rows)
// 1: Y rows start on a multiple of 4 elements and m is a multiple of 4 (TM a multiple of 4): the
// forward stores 4 columns at once (on lavapipe a store is a loop over the lanes, and one per
// element made the tile's last part cost as much as a tenth of the expert GEMM).
layout(constant_id = 4) const uint VECTOR_Y = 0;

const uint TILE_ROWS = SG * RN;

#ifdef X_TEXELS
// X as a read-only storage texel buffer of RGBA32UI texels (4 consecutive floats per texel, bits
// unchanged): on lavapipe an imageLoad is inline code where a storage read is a loop over the
// lanes (and a uniform texel fetch a call into a sampling function).
layout(set = 0, binding = 0, rgba32ui) readonly uniform uimageBuffer x_texels;
#define X_VECTOR(i) uintBitsToFloat(imageLoad(x_texels, int(i)))
#define X_VALUE(i) uintBitsToFloat(imageLoad(x_texels, int((i) / 4))[(i) % 4])
#else
layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 0) readonly buffer InputVectors { vec4 x_vectors[]; };
#define X_VECTOR(i) x_vectors[i]
#define X_VALUE(i) x[i]
#endif
#ifdef WEIGHT_TRANSPOSED
layout(std430, set = 0, binding = 2) buffer Output { float y[]; };
#else
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };
layout(std430, set = 0, binding = 2) writeonly buffer OutputVectors { vec4 y_vectors[]; };
#endif

layout(push_constant) uniform Push {
  uint n, m, k;
  uint x_stride, w_stride, y_stride;  // row strides in elements
  uint x_first, w_first, y_first;     // first element of each binding (W: weights.glsl)
#ifdef WEIGHT_TRANSPOSED
  uint accumulate;  // 1: Y += X . W
#endif
#ifdef EXPERTS
  uint expert_first;     // expert of grid z = 0
  uint list_stride;      // entries per routing list (the number of tokens)
  uint x_row_divisor;    // X row = entry / x_row_divisor
  uint w_expert_stride;  // elements from one expert's matrix to the next
#endif
} p;

#ifdef EXPERTS
layout(std430, set = 0, binding = 3) readonly buffer Counts { uint counts[]; };
layout(std430, set = 0, binding = 4) readonly buffer Lists { uint lists[]; };
// Row r of the product is routing entry ROW_ENTRY(r): X row entry / x_row_divisor, Y row entry.
#define ROW_ENTRY(r) (lists[list_base + (r)])
#define X_ROW(entry) ((entry) / p.x_row_divisor)
#else
#define ROW_ENTRY(r) (r)
#define X_ROW(entry) (entry)
#endif

// acc[row * TM + j]: row of the tile, column lane * TM + j.
float acc[TILE_ROWS * TM];

#ifdef EXPERTS
uint list_base;  // the expert's routing list
#endif

#define TILE_RN RN
#define MULTIPLY_TILE multiply_tile
#define ACCUMULATE accumulate
#include "gemm_shuffle_tile.glsl"
#ifdef EXPERTS
// An expert's last tile, where at most HALF_RN * SG of its rows are left: with about as many rows
// per expert as one tile, a full tile there would spend up to half its work on absent rows. (A
// last tile 1.5 tiles high, fetching the weights once where a full and a half tile fetch them
// twice, measured slower on lavapipe: a trip of it is more code than the instruction cache holds.)
const uint HALF_RN = (RN + 1) / 2;
#undef TILE_RN
#undef MULTIPLY_TILE
#undef ACCUMULATE
#define TILE_RN HALF_RN
#define MULTIPLY_TILE multiply_half_tile
#define ACCUMULATE accumulate_half
#include "gemm_shuffle_tile.glsl"
#endif

void main() {
#ifdef EXPERTS
  const uint expert = p.expert_first + gl_WorkGroupID.z;
  const uint n_rows = counts[expert];
  list_base = expert * p.list_stride;
  const uint w_origin = gl_WorkGroupID.z * p.w_expert_stride;
#else
  const uint n_rows = p.n;
  const uint w_origin = 0;
#endif
  weight_base = p.w_first;
  // The grid may cover fewer tiles than the product (the expert GEMM's launcher sizes it for an
  // expert's mean count and a few workgroups per core, as on lavapipe each workgroup costs about
  // 2 us even when it exits at once): a workgroup takes every grid-th tile in both directions.
  const uint tile_columns = SG * TM;
  for (uint m0 = gl_WorkGroupID.x * tile_columns; m0 < p.m;
       m0 += gl_NumWorkGroups.x * tile_columns) {
    for (uint n0 = gl_WorkGroupID.y * TILE_ROWS; n0 < n_rows;
         n0 += gl_NumWorkGroups.y * TILE_ROWS) {
#ifdef EXPERTS
      if (RN > 1 && n_rows - n0 <= HALF_RN * SG) {
        multiply_half_tile(n0, m0, n_rows, w_origin);
        continue;
      }
#endif
      multiply_tile(n0, m0, n_rows, w_origin);
    }
  }
}
