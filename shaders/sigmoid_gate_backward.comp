#version 450
// Backward of the sigmoid-gated add (broadcast.comp OP 1: x[r, c] += σ(z[r]) · y[r, c], Qwen2-MoE's
// shared expert) for the gated input and the gate logit:
//   dy[r, c] (+)= σ(z[r]) · d_out[r, c]        dz[r] = σ(z[r]) (1 − σ(z[r])) · Σ_c y[r, c] d_out[r, c]
// One workgroup per row.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer GateLogits { float z[]; };
layout(std430, set = 0, binding = 1) readonly buffer Gated { float y[]; };
layout(std430, set = 0, binding = 2) readonly buffer OutGradient { float d_out[]; };
layout(std430, set = 0, binding = 3) buffer GatedGradient { float dy[]; };
layout(std430, set = 0, binding = 4) writeonly buffer GateGradient { float dz[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  uint accumulate;  // 1: dy += ...
  uint z_first;
  uint y_first;
  uint d_out_first;
  uint dy_first;
  uint dz_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint lane = gl_LocalInvocationID.x;
  const float gate = 1.0 / (1.0 + exp(-z[p.z_first + row]));
  const uint y_base = p.y_first + row * p.cols;
  const uint out_base = p.d_out_first + row * p.cols;
  const uint dy_base = p.dy_first + row * p.cols;

  float dot_value = 0.0;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    const float g = d_out[out_base + c];
    dot_value += y[y_base + c] * g;
    dy[dy_base + c] = p.accumulate != 0 ? dy[dy_base + c] + gate * g : gate * g;
  }
  dot_value = workgroup_reduce(dot_value, REDUCE_SUM);
  if (lane == 0) dz[p.dz_first + row] = gate * (1.0 - gate) * dot_value;
}
