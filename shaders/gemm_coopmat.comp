#version 450
// Y[n, m] = X[n, k] . W[m, k]^T on cooperative matrices (VK_KHR_cooperative_matrix): the
// multiply-adds run on the device's matrix units (tensor cores, WMMA, XMX) in f16 with f32
// accumulation. X and W (any weight type of weights.glsl) are rounded to f16 as they are staged,
// so |X| must stay below 65504; the baseline kernels keep f32 throughout.
//
// A workgroup is SUBGROUP_ROWS x SUBGROUP_COLS subgroups and computes a BN x BM tile of Y. Each
// step of BK values of k stages the X tile [row][k] and the W tile [column][k] in shared memory
// as f16 (bounds-checked: loads past n, m or k read zero; with VECTOR and k a multiple of 8,
// each invocation loads 8 values of k at once: two 16-byte X loads, load_weights8 for W); each
// subgroup then multiplies TN x TM
// matrices of CM_N x CM_M outputs, loading X as the row-major A operand and W as the
// column-major B operand (W[m, k] is B[k, m] read down its columns). At the end a subgroup
// stores one accumulator at a time to its own shared staging block, and its invocations write
// that block to Y with the bounds checks and, for the expert GEMM, the scatter by routing entry.
//
// EXPERTS: the expert-batched GEMM, as in gemm.comp (grid z = expert, rows gathered from X by
// routing entry / x_row_divisor and scattered to Y by entry, each expert its own matrix).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#define WEIGHT_BINDING 1
#include "weights.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint THREADS = 128;      // SUBGROUP_ROWS x SUBGROUP_COLS subgroups
layout(constant_id = 1) const uint SUBGROUP_ROWS = 2;  // subgroups along n (rows of Y)
layout(constant_id = 2) const uint SUBGROUP_COLS = 2;  // subgroups along m (columns of Y)
layout(constant_id = 3) const uint CM_N = 16;          // rows of one matrix (the driver's M)
layout(constant_id = 4) const uint CM_M = 16;          // its columns (the driver's N)
layout(constant_id = 5) const uint CM_K = 16;          // k of one multiply (the driver's K)
layout(constant_id = 6) const uint TN = 2;             // matrices per subgroup along n
layout(constant_id = 7) const uint TM = 2;             // matrices per subgroup along m
layout(constant_id = 8) const uint BK = 32;            // k per shared-memory stage, CM_K multiple
// X rows (x_first, x_stride) on multiples of 4 elements and W rows as load_weights8 needs them
// (the launcher checks); k is checked here.
layout(constant_id = 9) const bool VECTOR = false;

const uint BN = SUBGROUP_ROWS * TN * CM_N;
const uint BM = SUBGROUP_COLS * TM * CM_M;
// Shared rows hold BK halves and 8 more: a 16-byte multiple for the matrix loads, and off a
// single bank for the staging stores.
const uint K_STRIDE = BK + 8;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 0) readonly buffer InputVectors { vec4 x4[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };

layout(push_constant) uniform Push {
  uint n, m, k;
  uint x_stride, w_stride, y_stride;  // row strides in elements
  uint x_first, w_first, y_first;     // first element of each binding (W: weights.glsl)
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

shared float16_t x_tile[BN * K_STRIDE];
shared float16_t w_tile[BM * K_STRIDE];
shared float staging[SUBGROUP_ROWS * SUBGROUP_COLS * CM_N * CM_M];

void stage_x8(uint at, vec4 lo, vec4 hi) {
  [[unroll]] for (uint c = 0; c < 4; ++c) {
    x_tile[at + c] = float16_t(lo[c]);
    x_tile[at + 4 + c] = float16_t(hi[c]);
  }
}

void stage_w8(uint at, vec4 lo, vec4 hi) {
  [[unroll]] for (uint c = 0; c < 4; ++c) {
    w_tile[at + c] = float16_t(lo[c]);
    w_tile[at + 4 + c] = float16_t(hi[c]);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint subgroup_row = gl_SubgroupID / SUBGROUP_COLS;
  const uint subgroup_col = gl_SubgroupID % SUBGROUP_COLS;
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

  coopmat<float, gl_ScopeSubgroup, CM_N, CM_M, gl_MatrixUseAccumulator> acc[TN * TM];
  [[unroll]] for (uint i = 0; i < TN * TM; ++i) {
    acc[i] = coopmat<float, gl_ScopeSubgroup, CM_N, CM_M, gl_MatrixUseAccumulator>(0.0);
  }

  // Groups of 8 never straddle k when k is a multiple of 8 (BK is one too).
  const bool vector = VECTOR && p.k % 8 == 0;
  for (uint k0 = 0; k0 < p.k; k0 += BK) {
    // Consecutive invocations load consecutive k of one row (contiguous in memory).
    if (vector) {
      for (uint e = tid; e < BM * BK / 8; e += THREADS) {
        const uint row = e / (BK / 8), kk = e % (BK / 8) * 8;
        const uint gm = m0 + row, gk = k0 + kk;
        vec4 lo = vec4(0.0), hi = vec4(0.0);
        if (gm < p.m && gk < p.k) load_weights8((w_origin + gm * p.w_stride + gk) / 8, lo, hi);
        stage_w8(row * K_STRIDE + kk, lo, hi);
      }
      for (uint e = tid; e < BN * BK / 8; e += THREADS) {
        const uint row = e / (BK / 8), kk = e % (BK / 8) * 8;
        const uint gn = n0 + row, gk = k0 + kk;
        vec4 lo = vec4(0.0), hi = vec4(0.0);
        if (gn < n_rows && gk < p.k) {
          const uint at = (p.x_first + X_ROW(gn) * p.x_stride + gk) / 4;
          lo = x4[at];
          hi = x4[at + 1];
        }
        stage_x8(row * K_STRIDE + kk, lo, hi);
      }
    } else {
      for (uint e = tid; e < BM * BK; e += THREADS) {
        const uint row = e / BK, kk = e % BK;
        const uint gm = m0 + row, gk = k0 + kk;
        w_tile[row * K_STRIDE + kk] = float16_t(
            (gm < p.m && gk < p.k) ? load_weight(w_origin + gm * p.w_stride + gk) : 0.0);
      }
      for (uint e = tid; e < BN * BK; e += THREADS) {
        const uint row = e / BK, kk = e % BK;
        const uint gn = n0 + row, gk = k0 + kk;
        x_tile[row * K_STRIDE + kk] = float16_t(
            (gn < n_rows && gk < p.k) ? x[p.x_first + X_ROW(gn) * p.x_stride + gk] : 0.0);
      }
    }
    barrier();
    [[unroll]] for (uint kk = 0; kk < BK; kk += CM_K) {
      coopmat<float16_t, gl_ScopeSubgroup, CM_N, CM_K, gl_MatrixUseA> a[TN];
      [[unroll]] for (uint i = 0; i < TN; ++i) {
        const uint row = (subgroup_row * TN + i) * CM_N;
        coopMatLoad(a[i], x_tile, row * K_STRIDE + kk, K_STRIDE,
                    gl_CooperativeMatrixLayoutRowMajor);
      }
      [[unroll]] for (uint j = 0; j < TM; ++j) {
        coopmat<float16_t, gl_ScopeSubgroup, CM_K, CM_M, gl_MatrixUseB> b;
        const uint column = (subgroup_col * TM + j) * CM_M;
        coopMatLoad(b, w_tile, column * K_STRIDE + kk, K_STRIDE,
                    gl_CooperativeMatrixLayoutColumnMajor);
        [[unroll]] for (uint i = 0; i < TN; ++i) {
          acc[i * TM + j] = coopMatMulAdd(a[i], b, acc[i * TM + j]);
        }
      }
    }
    barrier();
  }

  const uint block = gl_SubgroupID * CM_N * CM_M;
  [[unroll]] for (uint i = 0; i < TN; ++i) {
    [[unroll]] for (uint j = 0; j < TM; ++j) {
      coopMatStore(acc[i * TM + j], staging, block, CM_M, gl_CooperativeMatrixLayoutRowMajor);
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      const uint row0 = n0 + (subgroup_row * TN + i) * CM_N;
      const uint col0 = m0 + (subgroup_col * TM + j) * CM_M;
      for (uint e = gl_SubgroupInvocationID; e < CM_N * CM_M; e += gl_SubgroupSize) {
        const uint gn = row0 + e / CM_M, gm = col0 + e % CM_M;
        if (gn < n_rows && gm < p.m) y[p.y_first + Y_ROW(gn) * p.y_stride + gm] = staging[block + e];
      }
      subgroupBarrier();  // every invocation has read the block before the next store
    }
  }
}
