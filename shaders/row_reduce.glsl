// A reduction of one float per invocation to one value per workgroup, for the row kernels.
//
// Before including, a shader declares
//   layout(constant_id = 0) const uint GROUP_SIZE = 256;  // a power of two
//   layout(local_size_x_id = 0) in;
// and defines ROW_REDUCE_SUBGROUP=1 for the variant that reduces with subgroup arithmetic
// (chosen by the launcher only where the device supports it); otherwise a shared-memory tree
// is used.
#ifndef VKMOE_ROW_REDUCE_GLSL
#define VKMOE_ROW_REDUCE_GLSL

#ifdef ROW_REDUCE_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "rows.glsl"

const uint REDUCE_SUM = 0;
const uint REDUCE_MAX = 1;

float reduce_combine(float a, float b, uint op) { return op == REDUCE_SUM ? a + b : max(a, b); }

// One slot per invocation for the tree; one per subgroup is enough for the subgroup path, and
// GROUP_SIZE slots cover any subgroup size.
shared float reduce_scratch[GROUP_SIZE];

// Every invocation of the workgroup must call this in uniform control flow; all get the result.
float workgroup_reduce(float value, const uint op) {
  // A previous reduction may still be reading the scratch.
  barrier();
#ifdef ROW_REDUCE_SUBGROUP
  value = op == REDUCE_SUM ? subgroupAdd(value) : subgroupMax(value);
  if (subgroupElect()) reduce_scratch[gl_SubgroupID] = value;
  barrier();
  float result = reduce_scratch[0];
  for (uint s = 1; s < gl_NumSubgroups; ++s) result = reduce_combine(result, reduce_scratch[s], op);
  return result;
#else
  const uint lane = gl_LocalInvocationID.x;
  reduce_scratch[lane] = value;
  barrier();
  for (uint half_size = GROUP_SIZE / 2; half_size > 0; half_size >>= 1) {
    if (lane < half_size) {
      reduce_scratch[lane] = reduce_combine(reduce_scratch[lane], reduce_scratch[lane + half_size], op);
    }
    barrier();
  }
  return reduce_scratch[0];
#endif
}

#endif
