#version 450
// Top-k of each row of an f32 [rows, cols] matrix: values [rows, k] in descending order and
// their column indices [rows, k]. Ties go to the smaller index, which makes the order strict
// and total: every element has a distinct rank (the number of elements ahead of it), and the
// element of rank r < k goes to slot r. NaN ranks as +inf (torch.topk puts NaN first too).
//
// Workgroup (row, batch) ranks columns batch·GROUP_SIZE + lane against the whole row, read
// through a shared tile. Counting ranks costs cols² comparisons per row: cheap for expert
// counts (tens to hundreds), correct but slow for thousands; it needs no sort, no atomics and
// one fixed tile. Each invocation loops about cols times in all, which keeps it well inside
// lavapipe's limit of 65535 loop iterations per invocation (past it, loops silently stop),
// as long as cols stays within the launcher's bound.
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 64;
layout(local_size_x_id = 0) in;

#include "rows.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) writeonly buffer Values { float values[]; };
layout(std430, set = 0, binding = 2) writeonly buffer Indices { uint indices[]; };

layout(push_constant) uniform Push {
  uint rows;
  uint cols;
  uint k;
  uint x_first;
  uint values_first;
  uint indices_first;
} p;

const uint TILE = 1024;  // columns of the row held in shared memory at a time (4 KiB)
shared float tile[TILE];

float sort_key(float v) { return isnan(v) ? uintBitsToFloat(0x7f800000u) : v; }

void main() {
  const uint batches = (p.cols + GROUP_SIZE - 1) / GROUP_SIZE;
  const uint group = linear_workgroup();
  const uint row = group / batches;
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint base = p.x_first + row * p.cols;
  const uint lane = gl_LocalInvocationID.x;
  const uint i = (group % batches) * GROUP_SIZE + lane;
  const bool owns = i < p.cols;
  const float key = owns ? sort_key(x[base + i]) : 0.0;

  uint rank = 0;
  for (uint tile_first = 0; tile_first < p.cols; tile_first += TILE) {  // uniform bounds
    const uint tile_size = min(TILE, p.cols - tile_first);
    barrier();  // everyone is done with the previous tile
    for (uint j = lane; j < tile_size; j += GROUP_SIZE) tile[j] = sort_key(x[base + tile_first + j]);
    barrier();
    if (owns) {
      // Columns before i are ahead when not smaller; columns after i only when larger.
      const uint before = min(tile_size, i > tile_first ? i - tile_first : 0);
      for (uint j = 0; j < before; ++j) rank += tile[j] >= key ? 1 : 0;
      for (uint j = before; j < tile_size; ++j) rank += tile[j] > key ? 1 : 0;
    }
  }
  if (owns && rank < p.k) {
    values[p.values_first + row * p.k + rank] = x[base + i];
    indices[p.indices_first + row * p.k + rank] = i;
  }
}
