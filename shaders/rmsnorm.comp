#version 450
// RMSNorm as Hugging Face Qwen2-MoE / DeepSeek define it, statistics in f32:
//   y[r, c] = w[c] · (x[r, c] · rsqrt(mean_c x[r, c]² + eps))   (weight without +1)
// One workgroup per row. Safe in place (out aliasing x): each element is read and written by
// the same invocation.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Weight { float w[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float result[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  float eps;
  uint x_first;
  uint w_first;
  uint out_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint in_base = p.x_first + row * p.cols;
  const uint out_base = p.out_first + row * p.cols;
  const uint lane = gl_LocalInvocationID.x;

  float squares = 0.0;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    const float v = x[in_base + c];
    squares += v * v;
  }
  squares = workgroup_reduce(squares, REDUCE_SUM);
  const float inverse_rms = inversesqrt(squares / float(p.cols) + p.eps);

  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    // The order of the products is Hugging Face's: normalise, then scale by the weight.
    result[out_base + c] = w[p.w_first + c] * (x[in_base + c] * inverse_rms);
  }
}
