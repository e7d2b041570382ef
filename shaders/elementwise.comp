#version 450
// out[i] = op(a[i], b[i]) for f32 tensors: add, mul, silu(a), swiglu(a, b) = silu(a) * b.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;  // 0 add, 1 mul, 2 silu, 3 swiglu

layout(std430, set = 0, binding = 0) readonly buffer InputA { float a[]; };
layout(std430, set = 0, binding = 1) readonly buffer InputB { float b[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float result[]; };

layout(push_constant) uniform Push {
  uint count;
  uint a_first;
  uint b_first;
  uint out_first;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.count) return;
  const float x = a[p.a_first + i];
  float y;
  if (OP == 0) {
    y = x + b[p.b_first + i];
  } else if (OP == 1) {
    y = x * b[p.b_first + i];
  } else if (OP == 2) {
    y = silu(x);
  } else {
    y = silu(x) * b[p.b_first + i];
  }
  result[p.out_first + i] = y;
}
