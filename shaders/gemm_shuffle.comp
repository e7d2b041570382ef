#version 450
// Y[n, m] = X[n, k] . W[m, k]^T like gemm.comp, for devices where shared memory and barriers
// cost more than they save (CPU devices such as lavapipe: an invocation is a SIMD lane, and
// every load whose address differs per lane is a loop over the lanes).
//
// A workgroup is one subgroup of SG invocations and computes an (SG * RN) x (SG * TM) tile,
// no shared memory. Each step over k, invocation i loads its own RN rows of X and TM rows of
// W (rows n0 + i + q*SG, m0 + i + j*SG); subgroupShuffle then hands every X value to all
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

const uint TILE_ROWS = SG * RN;

#ifdef X_TEXELS
// X as a uniform texel buffer of RGBA32UI texels (4 consecutive floats per texel, bits
// unchanged): on lavapipe a
// texel fetch is a vector gather where a storage read is a loop over the lanes.
layout(set = 0, binding = 0) uniform usamplerBuffer x_texels;
#define X_VECTOR(i) uintBitsToFloat(texelFetch(x_texels, int(i)))
#define X_VALUE(i) uintBitsToFloat(texelFetch(x_texels, int((i) / 4))[(i) % 4])
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
#define X_ROW(r) (lists[list_base + (r)] / p.x_row_divisor)
#define Y_ROW(r) (lists[list_base + (r)])
#else
#define X_ROW(r) (r)
#define Y_ROW(r) (r)
#endif

// acc[row * TM + j]: row of the tile, column lane + j * SG (transposed: lane * TM + j).
float acc[TILE_ROWS * TM];

// One k step (the scalar path): every invocation's X values go to all invocations.
void accumulate(const float x_mine[RN], const float w_mine[TM]) {
  [[unroll]] for (uint q = 0; q < RN; ++q) {
    [[unroll]] for (uint r = 0; r < SG; ++r) {
      const float xv = subgroupShuffle(x_mine[q], r);
      [[unroll]] for (uint j = 0; j < TM; ++j) {
        acc[(q * SG + r) * TM + j] = fma(xv, w_mine[j], acc[(q * SG + r) * TM + j]);
      }
    }
  }
}

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.x * SG * TM;
  const uint n0 = gl_WorkGroupID.y * TILE_ROWS;
#ifdef EXPERTS
  const uint expert = p.expert_first + gl_WorkGroupID.z;
  const uint n_rows = counts[expert];
  const uint list_base = expert * p.list_stride;
  const uint w_origin = gl_WorkGroupID.z * p.w_expert_stride;  // counted from weight_base
  if (n0 >= n_rows) return;  // the whole workgroup (one subgroup)
#else
  const uint n_rows = p.n;
  const uint w_origin = 0;
#endif
  weight_base = p.w_first;
  // Rows past n or m read the last row (no branches around loads) and are not stored.
  uint x_row[RN];
  [[unroll]] for (uint q = 0; q < RN; ++q) {
    x_row[q] = p.x_first + X_ROW(min(n0 + lane + q * SG, n_rows - 1)) * p.x_stride;
  }
  [[unroll]] for (uint i = 0; i < TILE_ROWS * TM; ++i) acc[i] = 0.0;

#ifdef WEIGHT_TRANSPOSED
  // Columns past m read the last column; with VECTOR (m a multiple of 8) a group of 8 lies
  // wholly inside or wholly past m, and groups past it read the last group.
  const uint column = m0 + lane * TM;
  uint scalar_from = 0;
  if (VECTOR == 1) {
    const uint groups = p.k / 8;
    for (uint g = 0; g < groups; ++g) {
      // X rows at k = 8g .. 8g+7, and this invocation's TM columns of W's rows 8g .. 8g+7 (the
      // groups of 8 past m read the last group).
      vec4 x_lo[RN], x_hi[RN], w[8][TM / 4];
      [[unroll]] for (uint q = 0; q < RN; ++q) {
        x_lo[q] = X_VECTOR(x_row[q] / 4 + 2 * g);
        x_hi[q] = X_VECTOR(x_row[q] / 4 + 2 * g + 1);
      }
      [[unroll]] for (uint kk = 0; kk < 8; ++kk) {
        const uint row = w_origin + (8 * g + kk) * p.w_stride;
        [[unroll]] for (uint t = 0; t < TM / 8; ++t) {
          load_weights8((row + min(column + 8 * t, p.m - 8)) / 8, w[kk][2 * t], w[kk][2 * t + 1]);
        }
      }
      [[unroll]] for (uint q = 0; q < RN; ++q) {
        [[unroll]] for (uint r = 0; r < SG; ++r) {
          float xr[8];  // row q * SG + r of the tile, 8 values of k
          [[unroll]] for (uint c = 0; c < 4; ++c) {
            xr[c] = subgroupShuffle(x_lo[q][c], r);
            xr[c + 4] = subgroupShuffle(x_hi[q][c], r);
          }
          [[unroll]] for (uint j = 0; j < TM; ++j) {
            float a = acc[(q * SG + r) * TM + j];
            [[unroll]] for (uint kk = 0; kk < 8; ++kk) a = fma(xr[kk], w[kk][j / 4][j % 4], a);
            acc[(q * SG + r) * TM + j] = a;
          }
        }
      }
    }
    scalar_from = groups * 8;
  }
  for (uint kk = scalar_from; kk < p.k; ++kk) {
    float x_mine[RN], w_mine[TM];
    [[unroll]] for (uint q = 0; q < RN; ++q) x_mine[q] = X_VALUE(x_row[q] + kk);
    [[unroll]] for (uint j = 0; j < TM; ++j) {
      w_mine[j] = load_weight(w_origin + kk * p.w_stride + min(column + j, p.m - 1));
    }
    accumulate(x_mine, w_mine);
  }
#else
  uint w_row[TM];
  [[unroll]] for (uint j = 0; j < TM; ++j) {
    w_row[j] = w_origin + min(m0 + lane + j * SG, p.m - 1) * p.w_stride;
  }
  uint scalar_from = 0;
  if (VECTOR == 1) {
    const uint groups = p.k / 8;
    for (uint g = 0; g < groups; ++g) {
      vec4 x_lo[RN], x_hi[RN], w_lo[TM], w_hi[TM];
      [[unroll]] for (uint q = 0; q < RN; ++q) {
        x_lo[q] = X_VECTOR(x_row[q] / 4 + 2 * g);
        x_hi[q] = X_VECTOR(x_row[q] / 4 + 2 * g + 1);
      }
      [[unroll]] for (uint j = 0; j < TM; ++j) load_weights8(w_row[j] / 8 + g, w_lo[j], w_hi[j]);
      // For each output, its 8 FMAs in a row: the accumulator is read and written once per
      // 8 k rather than once per k (the tile has more accumulators than the CPU registers).
      [[unroll]] for (uint q = 0; q < RN; ++q) {
        [[unroll]] for (uint r = 0; r < SG; ++r) {
          vec4 xr_lo, xr_hi;  // row q * SG + r of the tile, 8 values of k
          [[unroll]] for (uint c = 0; c < 4; ++c) {
            xr_lo[c] = subgroupShuffle(x_lo[q][c], r);
            xr_hi[c] = subgroupShuffle(x_hi[q][c], r);
          }
          [[unroll]] for (uint j = 0; j < TM; ++j) {
            float a = acc[(q * SG + r) * TM + j];
            [[unroll]] for (uint c = 0; c < 4; ++c) a = fma(xr_lo[c], w_lo[j][c], a);
            [[unroll]] for (uint c = 0; c < 4; ++c) a = fma(xr_hi[c], w_hi[j][c], a);
            acc[(q * SG + r) * TM + j] = a;
          }
        }
      }
    }
    scalar_from = groups * 8;
  }
  for (uint kk = scalar_from; kk < p.k; ++kk) {
    float x_mine[RN], w_mine[TM];
    [[unroll]] for (uint q = 0; q < RN; ++q) x_mine[q] = X_VALUE(x_row[q] + kk);
    [[unroll]] for (uint j = 0; j < TM; ++j) w_mine[j] = load_weight(w_row[j] + kk);
    accumulate(x_mine, w_mine);
  }
#endif

  [[unroll]] for (uint row = 0; row < TILE_ROWS; ++row) {
    const uint gn = n0 + row;
    if (gn >= n_rows) break;
    [[unroll]] for (uint j = 0; j < TM; ++j) {
#ifdef WEIGHT_TRANSPOSED
      const uint gm = column + j;
      if (gm >= p.m) continue;
      const uint at = p.y_first + Y_ROW(gn) * p.y_stride + gm;
      y[at] = p.accumulate != 0 ? y[at] + acc[row * TM + j] : acc[row * TM + j];
#else
      const uint gm = m0 + lane + j * SG;
      if (gm < p.m) y[p.y_first + Y_ROW(gn) * p.y_stride + gm] = acc[row * TM + j];
#endif
    }
  }
}
