#version 450
// Backward of the fused router (shaders/moe_router.comp) from the routing weights to the
// router logits, the top-k choices held fixed. Recomputing p = softmax(logits) and with
// c_j = p[choice_j], S = Σ_j c_j, w_j = c_j / S (renormalised) or c_j:
//   dc_j = (dw_j − Σ_i dw_i w_i) / S   (renormalised)      dc_j = dw_j   (otherwise)
//   dp_e = Σ_j [choice_j = e] dc_j
//   dlogits_e = p_e · (dp_e − Σ_j c_j dc_j)
// One workgroup per token; every invocation walks the k choices itself.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };        // [T, E]
layout(std430, set = 0, binding = 1) readonly buffer Choices { uint choices[]; };       // [T, k]
layout(std430, set = 0, binding = 2) readonly buffer WeightGradient { float dw[]; };    // [T, k]
layout(std430, set = 0, binding = 3) writeonly buffer LogitGradient { float d_logits[]; };  // [T, E]

layout(push_constant) uniform Push {
  uint tokens;
  uint experts;
  uint top_k;
  uint renormalise;
  uint logits_first;
  uint choices_first;
  uint dw_first;
  uint d_logits_first;
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

void main() {
  const uint token = workgroup_row();
  if (token >= p.tokens) return;  // uniform for the whole workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint base = p.logits_first + token * p.experts;
  const uint pick = p.choices_first + token * p.top_k;
  const uint grad = p.dw_first + token * p.top_k;

  float local_max = NEG_INF;
  for (uint e = lane; e < p.experts; e += GROUP_SIZE) local_max = max(local_max, logits[base + e]);
  const float top = workgroup_reduce(local_max, REDUCE_MAX);
  float local_sum = 0.0;
  for (uint e = lane; e < p.experts; e += GROUP_SIZE) local_sum += exp(logits[base + e] - top);
  const float inverse_total = 1.0 / workgroup_reduce(local_sum, REDUCE_SUM);

  // S and Σ_i dw_i c_i over the choices (w_i = c_i / S).
  float chosen_sum = 0.0, weighted = 0.0;
  for (uint j = 0; j < p.top_k; ++j) {
    const float c = exp(logits[base + choices[pick + j]] - top) * inverse_total;
    chosen_sum += c;
    weighted += dw[grad + j] * c;
  }
  const bool renormalise = p.renormalise != 0;
  const float scale = renormalise ? 1.0 / chosen_sum : 1.0;
  const float shift = renormalise ? weighted / chosen_sum : 0.0;  // Σ_i dw_i w_i
  // Σ_j c_j dc_j = scale · (Σ_j c_j dw_j − shift · S)
  const float projection = renormalise ? scale * (weighted - shift * chosen_sum) : weighted;

  for (uint e = lane; e < p.experts; e += GROUP_SIZE) {
    float dp = 0.0;
    for (uint j = 0; j < p.top_k; ++j) {
      if (choices[pick + j] == e) dp += (dw[grad + j] - shift) * scale;
    }
    const float probability = exp(logits[base + e] - top) * inverse_total;
    d_logits[p.d_logits_first + token * p.experts + e] = probability * (dp - projection);
  }
}
