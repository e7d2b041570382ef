#version 450
// Attention backward, pass 3: for key/value position j and head g,
//   dk_j = scale · Σ_{h in g} Σ_t dS_tj q_t      dv_j = Σ_{h in g} Σ_t P_tj dout_t
// over the queries t of this dispatch that see j (first_position + t ≥ j), added to what
// earlier dispatches left. One invocation per (position, key/value head): no two write the
// same row, so the query heads sharing g are summed without atomics.
#extension GL_GOOGLE_include_directive : require
#include "attention_backward.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer Values { float v[]; };
layout(std430, set = 0, binding = 3) readonly buffer OutputGradient { float d_out[]; };
layout(std430, set = 0, binding = 4) readonly buffer Stats { float stats[]; };
layout(std430, set = 0, binding = 5) buffer KeyGradient { float dk[]; };
layout(std430, set = 0, binding = 6) buffer ValueGradient { float dv[]; };

void main() {
  const uint i = linear_invocation();
  const uint keys = p.first_position + p.queries;
  if (i >= keys * p.kv_heads) return;
  const uint j = i / p.kv_heads, g = i % p.kv_heads;
  const uint D = p.head_dim;
  const uint k_base = p.k_first + kv_at(j, g), v_base = p.v_first + kv_at(j, g);
  const uint dk_base = p.grad_first + kv_at(j, g), dv_base = p.grad2_first + kv_at(j, g);

  float acc_k[MAX_HEAD_DIM], acc_v[MAX_HEAD_DIM];
  for (uint d = 0; d < D; ++d) {
    acc_k[d] = p.first_dispatch != 0 ? 0.0 : dk[dk_base + d];
    acc_v[d] = p.first_dispatch != 0 ? 0.0 : dv[dv_base + d];
  }
  // Queries before j - first_position do not see key j.
  const uint t_begin = max(p.begin, j > p.first_position ? j - p.first_position : 0);
  for (uint h = g * p.group_size; h < (g + 1) * p.group_size; ++h) {
    for (uint t = t_begin; t < p.end; ++t) {
      const uint row = t * p.q_heads + h;
      const uint q_base = p.q_first + q_at(t, h), d_base = p.d_out_first + out_at(t, h);
      float s = 0.0, dp = 0.0;
      for (uint d = 0; d < D; ++d) {
        s += q[q_base + d] * k[k_base + d];
        dp += d_out[d_base + d] * v[v_base + d];
      }
      const float probability = exp(s * p.scale - stats[row * 3]) / stats[row * 3 + 1];
      const float ds = probability * (dp - stats[row * 3 + 2]) * p.scale;
      for (uint d = 0; d < D; ++d) {
        acc_k[d] += ds * q[q_base + d];
        acc_v[d] += probability * d_out[d_base + d];
      }
    }
  }
  for (uint d = 0; d < D; ++d) {
    dk[dk_base + d] = acc_k[d];
    dv[dv_base + d] = acc_v[d];
  }
}
