#version 450
// Attention backward, pass 1: per (query, head) the softmax statistics of the forward's
// scores (running max and sum of exp over the keys of this dispatch) and delta = dout · out.
// stats[(t·q_heads + h)·3 + {0, 1, 2}] = (max, sum, delta). One invocation per (t, h).
#extension GL_GOOGLE_include_directive : require
#include "attention_backward.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer Output { float o[]; };
layout(std430, set = 0, binding = 3) readonly buffer OutputGradient { float d_out[]; };
layout(std430, set = 0, binding = 4) buffer Stats { float stats[]; };

void main() {
  const uint i = linear_invocation();
  if (i >= p.queries * p.q_heads) return;
  const uint t = i / p.q_heads, h = i % p.q_heads, g = h / p.group_size;
  const uint D = p.head_dim;
  const uint q_base = p.q_first + q_at(t, h);

  float running_max = NEG_INF, running_sum = 0.0, delta = 0.0;
  if (p.first_dispatch != 0) {
    const uint o_base = p.out_first + out_at(t, h), d_base = p.d_out_first + out_at(t, h);
    for (uint d = 0; d < D; ++d) delta += d_out[d_base + d] * o[o_base + d];
  } else {
    running_max = stats[i * 3];
    running_sum = stats[i * 3 + 1];
    delta = stats[i * 3 + 2];
  }
  const uint key_end = min(p.end, p.first_position + t + 1);
  for (uint j = p.begin; j < key_end; ++j) {
    const uint k_base = p.k_first + kv_at(j, g);
    float s = 0.0;
    for (uint d = 0; d < D; ++d) s += q[q_base + d] * k[k_base + d];
    s *= p.scale;
    const float new_max = max(running_max, s);
    running_sum = running_sum * exp(running_max - new_max) + exp(s - new_max);
    running_max = new_max;
  }
  stats[i * 3] = running_max;
  stats[i * 3 + 1] = running_sum;
  stats[i * 3 + 2] = delta;
}
