#version 450
// In-place row-broadcast updates of an f32 matrix x [rows, cols]:
//   OP 0, bias:              x[r, c] += v[c]                  (nn.Linear bias)
//   OP 1, sigmoid-gated add: x[r, c] += sigmoid(v[r]) * y[r, c] (Qwen2-MoE's shared expert)
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint OP = 0;

layout(std430, set = 0, binding = 0) buffer Matrix { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Vector { float v[]; };
layout(std430, set = 0, binding = 2) readonly buffer Other { float y[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  uint x_first, v_first, y_first;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.rows * p.cols) return;
  const uint r = i / p.cols, c = i % p.cols;
  if (OP == 0) {
    x[p.x_first + i] += v[p.v_first + c];
  } else {
    const float gate = 1.0 / (1.0 + exp(-v[p.v_first + r]));
    x[p.x_first + i] += gate * y[p.y_first + i];
  }
}
