#version 450
// Backward of RMSNorm (shaders/rmsnorm.comp) for its input. With r = rsqrt(mean_c x² + eps)
// and y = w ∘ x · r:
//   dx[c] = r · w[c] dy[c] − x[c] · r³ / C · Σ_c' w[c'] dy[c'] x[c']
// (weight gradients are not computed). One workgroup per row; `accumulate` adds dx to what
// the output holds (the residual stream's gradient).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, set = 0, binding = 2) readonly buffer OutputGradient { float dy[]; };
layout(std430, set = 0, binding = 3) buffer InputGradient { float dx[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  float eps;
  uint accumulate;
  uint x_first;
  uint w_first;
  uint dy_first;
  uint dx_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint x_base = p.x_first + row * p.cols;
  const uint dy_base = p.dy_first + row * p.cols;
  const uint dx_base = p.dx_first + row * p.cols;
  const uint lane = gl_LocalInvocationID.x;

  float squares = 0.0, projection = 0.0;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    const float v = x[x_base + c];
    squares += v * v;
    projection += w[p.w_first + c] * dy[dy_base + c] * v;
  }
  squares = workgroup_reduce(squares, REDUCE_SUM);
  projection = workgroup_reduce(projection, REDUCE_SUM);
  const float inverse_rms = inversesqrt(squares / float(p.cols) + p.eps);
  const float correction = projection * inverse_rms * inverse_rms * inverse_rms / float(p.cols);

  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    const float g = inverse_rms * w[p.w_first + c] * dy[dy_base + c] - x[x_base + c] * correction;
    dx[dx_base + c] = p.accumulate != 0 ? dx[dx_base + c] + g : g;
  }
}
