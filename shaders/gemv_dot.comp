#version 450
// y[m] = W[m, k] . x[k] for W in Q8_0 or Q4_0 with integer dot products: the fast decode path
// of gemv.comp (same bindings, push constants and grid, EXPERTS included) for devices with
// VK_KHR_shader_integer_dot_product. Partial sums are reduced in shared memory, or with
// subgroupAdd in the SUBGROUP variant.
//
// Prologue: the workgroup quantises its X row into shared memory, Q8_0 style: per block of 32,
// d = max|x| / 127 and q = roundEven(x / d) in -127..127, four codes packed per 32-bit word
// (and, for Q4_0, the sum of the block's codes). Main loop: a block of W against a block of x
// is 8 packed 4 x int8 dot products added in int32 (exact: |sum| <= 32 * 127 * 127, so the
// saturating form is not needed; the plain one is a single DP4A-style instruction on GPUs),
// then one f32 multiply by both scales. Q4_0's codes are nibbles n in 0..15 standing for n - 8, so
// its sum is dot(n, q) - 8 * sum(q).
//
// The result differs from the f32-activation path by the activation rounding alone: at most
// d_x / 2 per x element, so |error| <= sum_j |w_j| * max|x_block(j)| / 254.
//
// glslang has no GL_EXT_integer_dot_product yet, so the instruction is declared through
// GL_EXT_spirv_intrinsics: OpSDot (4450) with capabilities DotProduct (6019) and
// DotProductInput4x8BitPacked (6018), packed vector format 0 (4x8Bit).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#extension GL_EXT_spirv_intrinsics : require
#if defined(SUBGROUP)
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif
#define WEIGHT_BINDING 0
#include "weights.glsl"

spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018],
                  id = 4450) int dot_packed(int a, int b, spirv_literal int format);

layout(local_size_x_id = 0) in;  // = K_THREADS * ROWS
layout(constant_id = 1) const uint K_THREADS = 64;  // invocations per row (1 or a power of 2)
layout(constant_id = 2) const uint ROWS = 1;        // invocation rows per workgroup
layout(constant_id = 3) const uint RPI = 1;         // rows of W per invocation
layout(constant_id = 5) const uint X_BLOCKS = 32;   // blocks of x the shared memory holds

const uint GROUP_SIZE = K_THREADS * ROWS;

layout(std430, set = 0, binding = 1) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float y[]; };
#if defined(EXPERTS)
layout(std430, set = 0, binding = 3) readonly buffer Choices { uint choices[]; };
#endif

layout(push_constant) uniform Push {
  uint m, k;
  uint w_stride;
  uint w_first, x_first, y_first;
  uint x_stride, y_stride;
  uint x_divisor;
  uint expert_first, expert_count, expert_stride;
} p;

shared int x_codes[X_BLOCKS * 8];
shared float x_scale[X_BLOCKS];
#if defined(WEIGHT_Q4_0)
shared int x_sum[X_BLOCKS];
#endif
shared float partial[RPI * GROUP_SIZE];

void quantise_x(uint x_base, uint blocks) {
  for (uint b = gl_LocalInvocationID.x; b < blocks; b += GROUP_SIZE) {
    vec4 v[8];
    float amax = 0.0;
    [[unroll]] for (uint t = 0; t < 8; ++t) {
      const uint at = x_base + 32 * b + 4 * t;
      v[t] = vec4(x[at], x[at + 1], x[at + 2], x[at + 3]);
      const vec4 a = abs(v[t]);
      amax = max(amax, max(max(a.x, a.y), max(a.z, a.w)));
    }
    const float d = amax / 127.0;
    const float inverse = d > 0.0 ? 1.0 / d : 0.0;
    int sum = 0;
    [[unroll]] for (uint t = 0; t < 8; ++t) {
      const ivec4 q = ivec4(clamp(roundEven(v[t] * inverse), -127.0, 127.0));
      sum += q.x + q.y + q.z + q.w;
      const uvec4 bytes = uvec4(q) & 0xffu;
      x_codes[8 * b + t] = int(bytes.x | (bytes.y << 8) | (bytes.z << 16) | (bytes.w << 24));
    }
    x_scale[b] = d;
#if defined(WEIGHT_Q4_0)
    x_sum[b] = sum;
#endif
  }
}

void main() {
  const uint local = gl_LocalInvocationID.x;
  const uint lane = local % K_THREADS;
  const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  const uint first_row = (group * ROWS + local / K_THREADS) * RPI;
  const uint vector_index = gl_WorkGroupID.z;
  weight_base = p.w_first;
  uint w_base = 0;
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
  const uint blocks = p.k / 32;  // the launcher makes sure blocks <= X_BLOCKS
  quantise_x(x_base, blocks);
  barrier();

  uint first_block[RPI];  // block index of each row's start (rows start on a block)
  float sum[RPI];
  [[unroll]] for (uint r = 0; r < RPI; ++r) {
    first_block[r] = (w_base + min(first_row + r, p.m - 1) * p.w_stride) / 32;
    sum[r] = 0.0;
  }
  for (uint b = lane; b < blocks; b += K_THREADS) {
    int xq[8];
    [[unroll]] for (uint t = 0; t < 8; ++t) xq[t] = x_codes[8 * b + t];
    const float dx = x_scale[b];
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      const uint block = weight_base + (first_block[r] + b) * BLOCK_WORDS;
      int s = 0;
      uint scale_bits;
#if defined(WEIGHT_Q8_0)
      uint codes[8];
      LOAD_BLOCK_WORDS(8, block, scale_bits, codes);
      [[unroll]] for (uint t = 0; t < 8; ++t) s += dot_packed(int(codes[t]), xq[t], 0);
#else
      uint codes[4];
      LOAD_BLOCK_WORDS(4, block, scale_bits, codes);
      [[unroll]] for (uint t = 0; t < 4; ++t) {
        s += dot_packed(int(codes[t] & 0x0f0f0f0fu), xq[t], 0);
        s += dot_packed(int((codes[t] >> 4) & 0x0f0f0f0fu), xq[t + 4], 0);
      }
      s -= 8 * x_sum[b];
#endif
      sum[r] += unpackHalf2x16(scale_bits).x * dx * float(s);
    }
  }

  if (K_THREADS == 1) {
    [[unroll]] for (uint r = 0; r < RPI; ++r) {
      if (first_row + r < p.m) y[y_base + first_row + r] = sum[r];
    }
    return;
  }
#if defined(SUBGROUP)
  // As gemv.comp: K_THREADS is a multiple of the subgroup size, so no subgroup spans two rows.
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
