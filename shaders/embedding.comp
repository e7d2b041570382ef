#version 450
// out[t, c] = table[ids[t], c]: token embeddings gathered from a table stored as f32, f16 or
// bf16 (weights.glsl), widened to f32. A table larger than one binding comes in chunks of rows
// [row_first, row_first + row_count), one dispatch each: a dispatch writes the tokens whose id
// falls in its chunk. An id past the whole table gets zeros (from the first chunk's dispatch)
// and is reported in `status`.
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : enable
#extension GL_EXT_control_flow_attributes : require
#define WEIGHT_BINDING 0
#include "weights.glsl"
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 1) readonly buffer Ids { uint ids[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Output { float result[]; };
layout(std430, set = 0, binding = 3) buffer Status { uint bad_id; };

layout(push_constant) uniform Push {
  uint tokens;
  uint columns;
  uint vocab;
  uint row_first;
  uint row_count;
  uint table_first;
  uint ids_first;
  uint out_first;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.tokens * p.columns) return;
  const uint token = i / p.columns;
  const uint column = i % p.columns;
  const uint id = ids[p.ids_first + token];
  if (id >= p.vocab) {
    if (p.row_first == 0) {
      result[p.out_first + i] = 0.0;
      bad_id = id + 1;  // any out-of-range id; 0 means none
    }
    return;
  }
  if (id < p.row_first || id - p.row_first >= p.row_count) return;  // another chunk's row
  weight_base = p.table_first;
  result[p.out_first + i] = load_weight((id - p.row_first) * p.columns + column);
}
