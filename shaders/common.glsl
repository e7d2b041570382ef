// Shared helpers for vkmoe compute shaders.
#ifndef VKMOE_COMMON_GLSL
#define VKMOE_COMMON_GLSL

// Linear invocation index of a 1-D launch folded into x and y (ops::linear_grid).
// A macro, not a function: glslang folds gl_WorkGroupSize to its default (1, 1, 1) in code
// parsed before the shader's `layout(local_size_x_id = ...) in;`, and this file is included
// before that line. Expanded inside main(), it sees the specialised size.
#define linear_invocation() \
  (gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x)

float silu(float x) { return x / (1.0 + exp(-x)); }

#endif
