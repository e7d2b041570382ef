#version 450
// y[m] = W[m, k] . x[k] with W in f32, f16, bf16 or a GGUF quant (weights.glsl), x and y in
// f32, accumulation in f32: the decode-time product of one token with an nn.Linear weight.
// Grid z runs over vectors (a few tokens at once), each with its own row of X and of Y.
//
// EXPERTS (the decode step of a MoE layer): vector z is routing entry z = token·top_k + j, its
// weight matrix is expert choices[z] of a stack [experts, m, k], read on the GPU — the host
// never learns which experts were chosen. X row is z / x_divisor (the token, or the entry
// itself for down_proj). A dispatch binds experts [expert_first, expert_first + expert_count)
// of the stack; entries that chose another expert leave at once.
//
// K_THREADS invocations share a row, striding over k so that neighbouring invocations read
// neighbouring weights; each invocation serves RPI rows at once, so one load of x feeds RPI
// rows of W; a workgroup holds ROWS such invocation rows (ROWS * RPI rows of W). Partial sums
// are reduced in shared memory, or with subgroupAdd in the SUBGROUP variant. With VECTOR = 1
// (x starts on a multiple of 4 elements and, for plain types, rows of W on a multiple of 8;
// the launcher checks) weights and x are read 8 at a time with 16-byte loads (quants: 32 at a
// time, a block or sub-block). K_THREADS = 1 leaves no reduction at all: one row per
// invocation.
//
// F16_MATH (f16 weights, devices with shaderFloat16): the 16-byte-load loop multiplies and adds
// in f16 — x rounded to f16, 8 products summed in f16 by two f16vec4 dots — and adds each
// group of 8 to the f32 sum. Per group the error is at most about 10 * 2^-11 * sum |w x|
// (x's rounding, 8 product roundings, 7 additions; unit roundoff 2^-11), and x must stay
// within f16's range (|x| < 65504).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#if defined(SUBGROUP)
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#if defined(F16_MATH)
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#define WEIGHT_BINDING 0
#include "weights.glsl"

layout(local_size_x_id = 0) in;  // = K_THREADS * ROWS
layout(constant_id = 1) const uint K_THREADS = 64;  // invocations per row (1 or a power of 2)
layout(constant_id = 2) const uint ROWS = 1;        // invocation rows per workgroup
layout(constant_id = 3) const uint RPI = 1;         // rows of W per invocation
layout(constant_id = 4) const uint VECTOR = 0;      // 1: 16-byte loads (aligned rows)

const uint GROUP_SIZE = K_THREADS * ROWS;

layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer InputVectors { vec4 x_vectors[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };
#if defined(EXPERTS)
layout(std430, set = 0, binding = 3) readonly buffer Choices { uint choices[]; };
#endif

layout(push_constant) uniform Push {
  uint m, k;
  uint w_stride;                   // row stride of W in elements
  uint w_first, x_first, y_first;  // first unit of each binding (W: weights.glsl)
  uint x_stride, y_stride;         // elements between the rows of X and Y (vectors)
  uint x_divisor;                  // EXPERTS: X row = entry / x_divisor
  uint expert_first, expert_count, expert_stride;  // EXPERTS: bound experts, elements each
} p;

shared float partial[RPI * GROUP_SIZE];

void main() {
  const uint local = gl_LocalInvocationID.x;
  const uint lane = local % K_THREADS;
  const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint first_row = (group * ROWS + local / K_THREADS) * RPI;
  const uint vector_index = gl_WorkGroupID.z;
  weight_base = p.w_first;
  uint w_base = 0;  // elements from the start of the W binding
#if defined(EXPERTS)
  // Uniform over the workgroup, so the early return leaves no barrier half-reached.
  const uint expert = choices[vector_index];
  if (expert < p.expert_first || expert - p.expert_first >= p.expert_count) return;
  w_base = (expert - p.expert_first) * p.expert_stride;
  const uint x_base = p.x_first + (vector_index / p.x_divisor) * p.x_stride;
#else
  const uint x_base = p.x_first + vector_index * p.x_stride;
#endif
  const uint y_base = p.y_first + vector_index * p.y_stride;

  // Rows past m read the last row (no branch around the loads) and are not stored.
  uint row_start[RPI];
  float sum[RPI];
  [[unroll]] for (uint r = 0; r < RPI; ++r) {
    row_start[r] = w_base + min(first_row + r, p.m - 1) * p.w_stride;
    sum[r] = 0.0;
  }

  uint scalar_from = 0;
#if defined(WEIGHT_QUANT)
  // Quantised rows are whole blocks: a step takes 32 weights of a row (one scale, a few wide
  // loads; weights.glsl's load_weights32) rather than 8.
  if (VECTOR == 1) {
    const uint blocks = p.k / 32;
    for (uint b = lane; b < blocks; b += K_THREADS) {
      vec4 xv[8];
      [[unroll]] for (uint c = 0; c < 8; ++c) xv[c] = x_vectors[x_base / 4 + 8 * b + c];
      [[unroll]] for (uint r = 0; r < RPI; ++r) {
        vec4 wv[8];
        load_weights32(row_start[r] / 32 + b, wv);
        float s = 0.0;
        [[unroll]] for (uint c = 0; c < 8; ++c) s += dot(wv[c], xv[c]);
        sum[r] += s;
      }
    }
    scalar_from = blocks * 32;
  }
#else
  if (VECTOR == 1) {
    const uint groups = p.k / 8;
    for (uint g = lane; g < groups; g += K_THREADS) {
#if defined(F16_MATH)
      const f16vec4 x_lo = f16vec4(x_vectors[x_base / 4 + 2 * g]);
      const f16vec4 x_hi = f16vec4(x_vectors[x_base / 4 + 2 * g + 1]);
      [[unroll]] for (uint r = 0; r < RPI; ++r) {
        f16vec4 w_lo, w_hi;
        load_weights8_f16(row_start[r] / 8 + g, w_lo, w_hi);
        sum[r] += float(dot(w_lo, x_lo) + dot(w_hi, x_hi));
      }
#else
      const vec4 x_lo = x_vectors[x_base / 4 + 2 * g];
      const vec4 x_hi = x_vectors[x_base / 4 + 2 * g + 1];
      [[unroll]] for (uint r = 0; r < RPI; ++r) {
        vec4 w_lo, w_hi;
        load_weights8(row_start[r] / 8 + g, w_lo, w_hi);
        sum[r] += dot(w_lo, x_lo) + dot(w_hi, x_hi);
      }
#endif
    }
    scalar_from = groups * 8;
  }
#endif
  for (uint i = scalar_from + lane; i < p.k; i += K_THREADS) {
    const float xi = x[x_base + i];
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      sum[r] = fma(load_weight(row_start[r] + i), xi, sum[r]);
    }
  }

  if (K_THREADS == 1) {
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      if (first_row + r < p.m) y[y_base + first_row + r] = sum[r];
    }
    return;
  }

#if defined(SUBGROUP)
  // K_THREADS is a multiple of the subgroup size here (the launcher makes sure), so no
  // subgroup spans two rows: reduce within subgroups, then add the subgroup sums.
  const uint per_row = K_THREADS / gl_SubgroupSize;
  [[unroll]] for (uint r = 0; r < RPI; ++r) {
    const float total = subgroupAdd(sum[r]);
    if (gl_SubgroupInvocationID == 0) partial[r * GROUP_SIZE + gl_SubgroupID] = total;
  }
  barrier();
  if (lane == 0) {
    const uint first_subgroup = (local / K_THREADS) * per_row;
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      float total = 0.0;
      for (uint s = 0; s < per_row; ++s) total += partial[r * GROUP_SIZE + first_subgroup + s];
      if (first_row + r < p.m) y[y_base + first_row + r] = total;
    }
  }
#else
  [[unroll]] for (uint r = 0; r < RPI; ++r) partial[r * GROUP_SIZE + local] = sum[r];
  barrier();
  for (uint half_width = K_THREADS / 2; half_width > 0; half_width /= 2) {
    if (lane < half_width) {
      [[unroll]] for (uint r = 0; r < RPI; ++r) {
        partial[r * GROUP_SIZE + local] += partial[r * GROUP_SIZE + local + half_width];
      }
    }
    barrier();
  }
  if (lane == 0) {
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      if (first_row + r < p.m) y[y_base + first_row + r] = partial[r * GROUP_SIZE + local];
    }
  }
#endif
}
