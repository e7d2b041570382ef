// Shared helpers for vkmoe compute shaders.
#ifndef VKMOE_COMMON_GLSL
#define VKMOE_COMMON_GLSL

// Linear invocation index of a 1-D launch folded into x and y (ops::linear_grid).
uint linear_invocation() {
  return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
}

float silu(float x) { return x / (1.0 + exp(-x)); }

#endif
