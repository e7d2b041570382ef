#version 450
// Merges the split-K partials of attention_decode: with per-split max m_i, sum l_i and
// unnormalised output o_i, out = Σ exp(m_i − M) o_i / Σ exp(m_i − M) l_i, M = max m_i.

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint GROUP_SIZE = 64;

layout(std430, set = 0, binding = 0) readonly buffer Partials { float partial[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { float o[]; };

layout(push_constant) uniform Push {
  uint splits;
  uint head_dim;
  uint out_head_stride;
  uint out_first;
} p;

void main() {
  const uint head = gl_WorkGroupID.x;
  const uint D = p.head_dim;
  const uint base = head * p.splits * (D + 2);
  float global_max = partial[base + D];
  for (uint s = 1; s < p.splits; ++s) {
    global_max = max(global_max, partial[base + s * (D + 2) + D]);
  }
  float total = 0.0;
  for (uint s = 0; s < p.splits; ++s) {
    const uint at = base + s * (D + 2);
    total += exp(partial[at + D] - global_max) * partial[at + D + 1];
  }
  for (uint d = gl_LocalInvocationID.x; d < D; d += GROUP_SIZE) {
    float acc = 0.0;
    for (uint s = 0; s < p.splits; ++s) {
      const uint at = base + s * (D + 2);
      acc += exp(partial[at + D] - global_max) * partial[at + d];
    }
    o[p.out_first + head * p.out_head_stride + d] = acc / total;
  }
}
