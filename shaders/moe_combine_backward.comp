#version 450
// Backward of moe_combine (out[t] = Σ_j w[t, j] · y[t·k + j]) for both of its inputs:
//   dy[t·k + j, c] = w[t, j] · d_out[t, c]      (the gradient at the expert's down_proj output)
//   dw[t, j]       = Σ_c y[t·k + j, c] · d_out[t, c]
// One workgroup per routing entry.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Expert { float y[]; };          // [T*k, m]
layout(std430, set = 0, binding = 1) readonly buffer Weights { float weights[]; };   // [T, k]
layout(std430, set = 0, binding = 2) readonly buffer OutGradient { float d_out[]; };  // [T, m]
layout(std430, set = 0, binding = 3) writeonly buffer ExpertGradient { float dy[]; };    // [T*k, m]
layout(std430, set = 0, binding = 4) writeonly buffer WeightGradient { float dw[]; };    // [T, k]

layout(push_constant) uniform Push {
  uint entries;
  uint columns;
  uint top_k;
  uint y_first;
  uint w_first;
  uint d_out_first;
  uint dy_first;
  uint dw_first;
} p;

void main() {
  const uint entry = workgroup_row();
  if (entry >= p.entries) return;  // uniform for the whole workgroup
  const uint token = entry / p.top_k;
  const uint lane = gl_LocalInvocationID.x;
  const float weight = weights[p.w_first + entry];
  const uint y_base = p.y_first + entry * p.columns;
  const uint out_base = p.d_out_first + token * p.columns;
  const uint dy_base = p.dy_first + entry * p.columns;

  float dot_value = 0.0;
  for (uint c = lane; c < p.columns; c += GROUP_SIZE) {
    const float g = d_out[out_base + c];
    dy[dy_base + c] = weight * g;
    dot_value += y[y_base + c] * g;
  }
  dot_value = workgroup_reduce(dot_value, REDUCE_SUM);
  if (lane == 0) dw[p.dw_first + entry] = dot_value;
}
