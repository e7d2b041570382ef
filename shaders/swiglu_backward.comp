#version 450
// Backward of SwiGLU a = silu(g) · u elementwise: with σ = sigmoid(g),
//   du = da · silu(g)            dg = da · u · σ · (1 + g · (1 − σ))
// One invocation per element.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Gate { float gate[]; };
layout(std430, set = 0, binding = 1) readonly buffer Up { float up[]; };
layout(std430, set = 0, binding = 2) readonly buffer ActivationGradient { float da[]; };
layout(std430, set = 0, binding = 3) writeonly buffer GateGradient { float d_gate[]; };
layout(std430, set = 0, binding = 4) writeonly buffer UpGradient { float d_up[]; };

layout(push_constant) uniform Push {
  uint count;
  uint gate_first;
  uint up_first;
  uint da_first;
  uint d_gate_first;
  uint d_up_first;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.count) return;
  const float g = gate[p.gate_first + i];
  const float u = up[p.up_first + i];
  const float d = da[p.da_first + i];
  const float s = 1.0 / (1.0 + exp(-g));
  d_up[p.d_up_first + i] = d * (g * s);
  d_gate[p.d_gate_first + i] = d * u * s * (1.0 + g * (1.0 - s));
}
