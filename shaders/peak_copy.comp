#version 450
// Copy probe: dst = src in 16-byte words, the best-case streaming bandwidth a kernel can see.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Source { vec4 source[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Destination { vec4 destination[]; };

layout(push_constant) uniform Push { uint count; } p;

void main() {
  const uint i = linear_invocation();
  if (i < p.count) destination[i] = source[i];
}
