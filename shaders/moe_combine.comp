#version 450
// out[t, c] (+)= Σ_j weight[t, j] · y[t·k + j, c]: the routed experts' outputs of each token,
// scaled by their routing weights and summed (in choice order, so the result is deterministic).
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Expert { float y[]; };      // [T*k, m]
layout(std430, set = 0, binding = 1) readonly buffer Weights { float weights[]; };  // [T, k]
layout(std430, set = 0, binding = 2) buffer Output { float result[]; };            // [T, m]

layout(push_constant) uniform Push {
  uint tokens;
  uint columns;
  uint top_k;
  uint accumulate;  // 1: add to what out holds
  uint out_first;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.tokens * p.columns) return;
  const uint token = i / p.columns;
  const uint column = i % p.columns;
  float sum = 0.0;
  for (uint j = 0; j < p.top_k; ++j) {
    const uint entry = token * p.top_k + j;
    sum += weights[entry] * y[entry * p.columns + column];
  }
  const uint at = p.out_first + i;
  result[at] = p.accumulate != 0 ? result[at] + sum : sum;
}
