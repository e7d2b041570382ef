// Row kernels launch one workgroup per row (or per piece of a row), in a grid folded into x
// and y when it passes maxComputeWorkGroupCount.x (ops::linear_grid with group size 1). The
// fold may launch a few groups past the end; they must return.
#ifndef VKMOE_ROWS_GLSL
#define VKMOE_ROWS_GLSL

uint linear_workgroup() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

uint workgroup_row() { return linear_workgroup(); }

#endif
