#version 450
// Y[n, m] = X[n, k] . W[m, k]^T with X, Y in f32 and W in f32, f16, bf16 or a GGUF quant
// (weights.glsl); accumulation in f32. Both operands are k-contiguous, as nn.Linear stores
// its weight.
//
// One workgroup computes a BN x BM tile of Y, walking k in steps of BK. Each step stages the
// X and W tiles in shared memory, transposed to [k][row] so the inner loop reads rows that
// lie side by side; each invocation then accumulates a TN x TM block of outputs in
// registers (register blocking: TN + TM shared reads feed TN * TM FMAs). An invocation owns
// rows ty, ty + WG_N, ... and columns tx, tx + WG_M, ...: neighbouring invocations read
// neighbouring shared words. Edges are bounds-checked: loads past n, m or k read zero,
// stores past n or m are skipped.
//
// With EXPERTS defined this is the expert-batched GEMM of a MoE layer: grid z is the expert,
// its rows are the first counts[e] entries of its routing list (from moe_router), X rows are
// gathered as entry / x_row_divisor (a token for gate/up, the entry itself for down), results
// are scattered to Y row = entry, and each expert reads its own matrix w_expert_stride
// elements after the previous one. A workgroup past its expert's count returns at once.
//
// With WEIGHT_TRANSPOSED defined this is the backward of nn.Linear for its input:
// Y[n, m] (+)= X[n, k] . W[k, m], W still stored [out, in] (here [k rows, m]), so X is dY,
// k the layer's out features and m its in features. `accumulate` adds to what Y holds (the
// residual paths, and chunks of k split over bindings). With EXPERTS too, rows are routing
// entries as above, each expert multiplying by its own (untransposed) matrix.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#define WEIGHT_BINDING 1
#include "weights.glsl"

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 0) const uint WG_M = 16;  // invocations along m (output columns)
layout(constant_id = 1) const uint WG_N = 16;  // invocations along n (output rows)
layout(constant_id = 2) const uint TM = 4;     // outputs per invocation along m
layout(constant_id = 3) const uint TN = 4;     // outputs per invocation along n
layout(constant_id = 4) const uint BK = 16;    // k per shared-memory stage

const uint BM = WG_M * TM;
const uint BN = WG_N * TN;
const uint THREADS = WG_M * WG_N;
// One word of padding per k row keeps the transposed stores off a single bank.
const uint W_STRIDE = BM + 1;
const uint X_STRIDE = BN + 1;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
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

shared float w_tile[BK * W_STRIDE];
shared float x_tile[BK * X_STRIDE];

void main() {
  const uint tx = gl_LocalInvocationID.x;
  const uint ty = gl_LocalInvocationID.y;
  const uint tid = ty * WG_M + tx;
  const uint m0 = gl_WorkGroupID.x * BM;
  const uint n0 = gl_WorkGroupID.y * BN;
#ifdef EXPERTS
  const uint expert = p.expert_first + gl_WorkGroupID.z;
  const uint n_rows = counts[expert];
  const uint list_base = expert * p.list_stride;
  const uint w_origin = gl_WorkGroupID.z * p.w_expert_stride;  // counted from weight_base
  if (n0 >= n_rows) return;  // the whole workgroup: no barrier is left waiting
#else
  const uint n_rows = p.n;
  const uint w_origin = 0;
#endif
  weight_base = p.w_first;

  float acc[TN * TM];
  for (uint i = 0; i < TN * TM; ++i) acc[i] = 0.0;

  for (uint k0 = 0; k0 < p.k; k0 += BK) {
    // Consecutive invocations load consecutive elements of one row (contiguous in memory):
    // k for W[m, k], m for the transposed W[k, m].
    for (uint e = tid; e < BM * BK; e += THREADS) {
#ifdef WEIGHT_TRANSPOSED
      const uint row = e % BM, kk = e / BM;
      const uint w_index = (k0 + kk) * p.w_stride + m0 + row;
#else
      const uint row = e / BK, kk = e % BK;
      const uint w_index = (m0 + row) * p.w_stride + k0 + kk;
#endif
      const uint gm = m0 + row, gk = k0 + kk;
      w_tile[kk * W_STRIDE + row] =
          (gm < p.m && gk < p.k) ? load_weight(w_origin + w_index) : 0.0;
    }
    for (uint e = tid; e < BN * BK; e += THREADS) {
      const uint row = e / BK, kk = e % BK;
      const uint gn = n0 + row, gk = k0 + kk;
      x_tile[kk * X_STRIDE + row] =
          (gn < n_rows && gk < p.k) ? x[p.x_first + X_ROW(gn) * p.x_stride + gk] : 0.0;
    }
    barrier();
    for (uint kk = 0; kk < BK; ++kk) {
      float a[TN], b[TM];
      for (uint i = 0; i < TN; ++i) a[i] = x_tile[kk * X_STRIDE + ty + i * WG_N];
      for (uint j = 0; j < TM; ++j) b[j] = w_tile[kk * W_STRIDE + tx + j * WG_M];
      for (uint i = 0; i < TN; ++i) {
        for (uint j = 0; j < TM; ++j) acc[i * TM + j] = fma(a[i], b[j], acc[i * TM + j]);
      }
    }
    barrier();
  }

  for (uint i = 0; i < TN; ++i) {
    const uint gn = n0 + ty + i * WG_N;
    if (gn >= n_rows) break;
    for (uint j = 0; j < TM; ++j) {
      const uint gm = m0 + tx + j * WG_M;
      if (gm >= p.m) continue;
      const uint at = p.y_first + Y_ROW(gn) * p.y_stride + gm;
#ifdef WEIGHT_TRANSPOSED
      y[at] = p.accumulate != 0 ? y[at] + acc[i * TM + j] : acc[i * TM + j];
#else
      y[at] = acc[i * TM + j];
#endif
    }
  }
}
