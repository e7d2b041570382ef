#version 450
// Row softmax in f32: y[r, c] = exp(s·x[r, c] − m) / Σ_c' exp(s·x[r, c'] − m), with s the
// scale and m = max_c s·x[r, c]. Subtracting the row maximum keeps exp() in range for any
// finite input. A row whose entries are all −inf (fully masked) gives zeros instead of the
// NaN of 0/0. One workgroup per row; three passes over the row (max, sum, write), the second
// and third reading what the first brought into cache. Safe in place (out aliasing x): every
// element is read and written only by the invocation that owns its column.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { float result[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  float scale;
  uint x_first;
  uint out_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint in_base = p.x_first + row * p.cols;
  const uint out_base = p.out_first + row * p.cols;
  const uint lane = gl_LocalInvocationID.x;
  const float negative_infinity = uintBitsToFloat(0xff800000u);

  float row_max = negative_infinity;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) row_max = max(row_max, p.scale * x[in_base + c]);
  row_max = workgroup_reduce(row_max, REDUCE_MAX);

  if (row_max == negative_infinity) {  // uniform: every invocation holds the same maximum
    for (uint c = lane; c < p.cols; c += GROUP_SIZE) result[out_base + c] = 0.0;
    return;
  }

  float sum = 0.0;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) sum += exp(p.scale * x[in_base + c] - row_max);
  sum = workgroup_reduce(sum, REDUCE_SUM);

  const float inverse_sum = 1.0 / sum;
  for (uint c = lane; c < p.cols; c += GROUP_SIZE) {
    result[out_base + c] = exp(p.scale * x[in_base + c] - row_max) * inverse_sum;
  }
}
