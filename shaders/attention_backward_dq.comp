#version 450
// Attention backward, pass 2: dq_t = scale · Σ_j dS_tj k_j over the keys of this dispatch,
// added to what earlier dispatches left in dq. One invocation per (query, head).
#extension GL_GOOGLE_include_directive : require
#include "attention_backward.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer Values { float v[]; };
layout(std430, set = 0, binding = 3) readonly buffer OutputGradient { float d_out[]; };
layout(std430, set = 0, binding = 4) readonly buffer Stats { float stats[]; };
layout(std430, set = 0, binding = 5) buffer QueryGradient { float dq[]; };

void main() {
  const uint i = linear_invocation();
  if (i >= p.queries * p.q_heads) return;
  const uint t = i / p.q_heads, h = i % p.q_heads, g = h / p.group_size;
  const uint D = p.head_dim;
  const uint q_base = p.q_first + q_at(t, h);
  const uint d_base = p.d_out_first + out_at(t, h);
  const uint dq_base = p.grad_first + q_at(t, h);
  const float row_max = stats[i * 3], inverse_sum = 1.0 / stats[i * 3 + 1];
  const float delta = stats[i * 3 + 2];

  float acc[MAX_HEAD_DIM];
  for (uint d = 0; d < D; ++d) acc[d] = p.first_dispatch != 0 ? 0.0 : dq[dq_base + d];
  const uint key_end = min(p.end, p.first_position + t + 1);
  for (uint j = p.begin; j < key_end; ++j) {
    const uint k_base = p.k_first + kv_at(j, g), v_base = p.v_first + kv_at(j, g);
    float s = 0.0, dp = 0.0;
    for (uint d = 0; d < D; ++d) {
      s += q[q_base + d] * k[k_base + d];
      dp += d_out[d_base + d] * v[v_base + d];
    }
    const float probability = exp(s * p.scale - row_max) * inverse_sum;
    const float ds = probability * (dp - delta) * p.scale;
    for (uint d = 0; d < D; ++d) acc[d] += ds * k[k_base + d];
  }
  for (uint d = 0; d < D; ++d) dq[dq_base + d] = acc[d];
}
