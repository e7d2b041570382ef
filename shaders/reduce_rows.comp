#version 450
// Row sums or row maxima of an f32 [rows, cols] matrix: out[r] = sum_c x[r, c] or max_c x[r, c].
// One workgroup per row; each invocation folds a strided slice of the row, then the workgroup
// reduces the partial values (row_reduce.glsl).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Output { float result[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  uint op;  // REDUCE_SUM or REDUCE_MAX
  uint x_first;
  uint out_first;
} p;

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint base = p.x_first + row * p.cols;
  const float negative_infinity = uintBitsToFloat(0xff800000u);
  float partial = p.op == REDUCE_SUM ? 0.0 : negative_infinity;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += GROUP_SIZE) {
    partial = reduce_combine(partial, x[base + c], p.op);
  }
  const float total = workgroup_reduce(partial, p.op);  // p.op is uniform
  if (gl_LocalInvocationID.x == 0) result[p.out_first + row] = total;
}
