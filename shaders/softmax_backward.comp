#version 450
// Backward of a row softmax through its output: with p = softmax(x) given (the forward's
// result) and dp = ∂loss/∂p,
//   dx[c] = p[c] · (dp[c] − Σ_c' p[c'] dp[c'])
// One workgroup per row; `accumulate` adds dx to what the output holds.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Probabilities { float prob[]; };
layout(std430, set = 0, binding = 1) readonly buffer ProbabilityGradient { float dp[]; };
layout(std430, set = 0, binding = 2) buffer InputGradient { float dx[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  uint accumulate;
  uint p_first;
  uint dp_first;
  uint dx_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint p_base = p.p_first + row * p.cols;
  const uint dp_base = p.dp_first + row * p.cols;
  const uint dx_base = p.dx_first + row * p.cols;
  const uint lane = gl_LocalInvocationID.x;

  float dot_value = 0.0;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) dot_value += prob[p_base + c] * dp[dp_base + c];
  dot_value = workgroup_reduce(dot_value, REDUCE_SUM);

  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    const float g = prob[p_base + c] * (dp[dp_base + c] - dot_value);
    dx[dx_base + c] = p.accumulate != 0 ? dx[dx_base + c] + g : g;
  }
}
