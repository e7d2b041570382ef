#version 450
// One draw of the low-rank KFAC Laplace posterior of every routed expert's down_proj in a
// layer (DESIGN.md "Bayesian-MoE", sampling):
//   ΔW = λ^{-½} Z + Q_G [(D − λ^{-½}) ∘ (Q_Gᵀ Z Q_A)] Q_Aᵀ,   D_jc = (λᴳ_j λᴬ_c / (M·T) + λ)^{-½}
//   W_sample = W_MAP + ΔW
// with Z [H, I] i.i.d. N(0, 1) from Philox, element (h, i) of expert e of draw s drawn at
// counter (h·I + i, e, stream, s) under the 64-bit seed: any pass can regenerate any element,
// so Z is never stored. Four passes, one shader variant each, grid z = expert (from
// expert_first):
//   PASS_PROJECT  U = Z Q_A                        [H, R]  (one workgroup per row h)
//   PASS_CORE     B = (D − λ^{-½}) ∘ (Q_Gᵀ U)      [R, R]
//   PASS_EXPAND   V = Q_G B                        [H, R]  (into U's buffer)
//   PASS_APPLY    W_sample = W_MAP + λ^{-½} Z + V Q_Aᵀ   (W in the model's dtype; f16 for quants)
// Eigenvectors are zero-padded to rank R; a zero eigenvalue adds nothing. An expert with
// M = 0 saw no token: its curvature is zero and its draw is the prior's.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "philox.glsl"
#if defined(PASS_APPLY)
#define WEIGHT_BINDING 5
#include "weights.glsl"
#endif

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint R = 32;      // rank of both factors (padded)
layout(constant_id = 2) const uint LANES = 64;  // = the workgroup size (local_size_x_id 0)

layout(std430, set = 0, binding = 0) readonly buffer QG { float qg[]; };  // [E, H, R]
layout(std430, set = 0, binding = 1) readonly buffer QA { float qa[]; };  // [E, I, R]
// Per expert: λᴳ (R values), λᴬ (R values), M.
layout(std430, set = 0, binding = 2) readonly buffer Spectra { float spectra[]; };
layout(std430, set = 0, binding = 3) buffer Work { float work[]; };  // U, then V: [E, H, R]
layout(std430, set = 0, binding = 4) buffer Core { float core[]; };  // B: [E, R, R]
#if defined(PASS_APPLY)
// The sample is written in W_MAP's own type for the plain types. GGUF blocks cannot be written
// element by element, so a quantised W_MAP is read as stored and its variant defines
// SAMPLE_F16: the draw goes to an f16 stack the forward then reads instead.
#if !defined(SAMPLE_F16)
#if defined(WEIGHT_F32)
#define SAMPLE_F32 1
#elif defined(WEIGHT_F16)
#define SAMPLE_F16 1
#else
#define SAMPLE_BF16 1
#endif
#endif
#if defined(SAMPLE_F32)
layout(std430, set = 0, binding = 6) writeonly buffer Sample { float sample_out[]; };
#else
layout(std430, set = 0, binding = 6) writeonly buffer Sample { uint16_t sample_out[]; };
#endif
#endif

layout(push_constant) uniform Push {
  uint h, i;               // W is h x i (out x in)
  uint expert_first;       // expert of grid z = 0
  uint seed_lo, seed_hi;   // the draw's key
  uint stream_id, draw;    // counter words 2 and 3: which layer, which draw
  float lambda;            // prior precision λ
  float temperature;       // T
  uint w_first, out_first; // PASS_APPLY: first element of the W bindings (align_binding)
  uint w_expert_first;     // PASS_APPLY: expert at element w_first of the W bindings
} p;

float z_at(uint expert, uint row, uint col) {
  return normal_at(uvec4(row * p.i + col, expert, p.stream_id, p.draw), uvec2(p.seed_lo, p.seed_hi));
}

#if defined(PASS_PROJECT)
shared float partial[LANES * R];

void main() {
  const uint e = p.expert_first + gl_WorkGroupID.z, row = gl_WorkGroupID.x;
  const uint lane = gl_LocalInvocationID.x, lanes = LANES;
  float sum[R];
  [[unroll]] for (uint c = 0; c < R; ++c) sum[c] = 0.0;
  for (uint col = lane; col < p.i; col += lanes) {
    const float z = z_at(e, row, col);
    const uint base = (e * p.i + col) * R;
    [[unroll]] for (uint c = 0; c < R; ++c) sum[c] = fma(z, qa[base + c], sum[c]);
  }
  [[unroll]] for (uint c = 0; c < R; ++c) partial[lane * R + c] = sum[c];
  barrier();
  for (uint c = lane; c < R; c += lanes) {
    float total = 0.0;
    for (uint l = 0; l < lanes; ++l) total += partial[l * R + c];
    work[(e * p.h + row) * R + c] = total;
  }
}
#elif defined(PASS_CORE)
void main() {
  const uint e = p.expert_first + gl_WorkGroupID.z;
  const uint index = gl_GlobalInvocationID.x;  // j * R + c
  if (index >= R * R) return;
  const uint j = index / R, c = index % R;
  float projected = 0.0;  // (Q_Gᵀ U)[j][c]
  for (uint row = 0; row < p.h; ++row) {
    projected = fma(qg[(e * p.h + row) * R + j], work[(e * p.h + row) * R + c], projected);
  }
  const float prior = inversesqrt(p.lambda);
  // M = 0: no token reached the expert, no curvature (and no 0/0).
  const uint s = e * (2 * R + 1);
  const float m = spectra[s + 2 * R];
  const float curvature =
      m > 0.0 ? spectra[s + j] * spectra[s + R + c] / (m * p.temperature) : 0.0;
  core[(e * R + j) * R + c] = (inversesqrt(curvature + p.lambda) - prior) * projected;
}
#elif defined(PASS_EXPAND)
void main() {
  const uint e = p.expert_first + gl_WorkGroupID.z;
  const uint index = linear_invocation();  // row * R + c
  if (index >= p.h * R) return;
  const uint row = index / R, c = index % R;
  float sum = 0.0;
  [[unroll]] for (uint j = 0; j < R; ++j) {
    sum = fma(qg[(e * p.h + row) * R + j], core[(e * R + j) * R + c], sum);
  }
  work[(e * p.h + row) * R + c] = sum;
}
#elif defined(PASS_APPLY)
void store(uint index, float value) {
#if defined(SAMPLE_F32)
  sample_out[index] = value;
#elif defined(SAMPLE_F16)
  sample_out[index] = uint16_t(packHalf2x16(vec2(value, 0.0)) & 0xffffu);
#else
  // bf16: round to nearest even (finite values).
  const uint bits = floatBitsToUint(value);
  sample_out[index] = uint16_t((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
#endif
}

void main() {
  const uint e = p.expert_first + gl_WorkGroupID.z;
  const uint index = linear_invocation();  // row * I + col
  if (index >= p.h * p.i) return;
  weight_base = p.w_first;
  const uint row = index / p.i, col = index % p.i;
  float low_rank = 0.0;
  [[unroll]] for (uint c = 0; c < R; ++c) {
    low_rank = fma(work[(e * p.h + row) * R + c], qa[(e * p.i + col) * R + c], low_rank);
  }
  const uint offset = (e - p.w_expert_first) * p.h * p.i + index;
  const float delta = inversesqrt(p.lambda) * z_at(e, row, col) + low_rank;
  store(p.out_first + offset, load_weight(offset) + delta);
}
#else
#error "define PASS_PROJECT, PASS_CORE, PASS_EXPAND or PASS_APPLY"
#endif
