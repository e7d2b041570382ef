#version 450
// Causal attention for a block of new tokens (prefill), tiled with an online softmax:
// one invocation per query row, a workgroup per (block of BLOCK_ROWS rows, query head);
// keys and values stream through shared memory BLOCK_KEYS at a time, so the score matrix is
// never stored. Query t sits at absolute position first_position + t and sees keys 0..that.
//
// One dispatch covers the keys [key_begin, key_end). When a device bounds loop iterations
// (lavapipe), the launcher covers the keys in several dispatches that carry each row's
// running state (max, sum, unnormalised output) through `state`; the last one normalises.
// head_dim is a push constant (≤ MAX_HEAD_DIM) so loops keep run-time bounds: a CPU driver
// compiling fully unrolled per-head-size variants spends tens of seconds per pipeline.

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint BLOCK_ROWS = 16;
layout(constant_id = 1) const uint BLOCK_KEYS = 16;
layout(constant_id = 2) const uint MAX_HEAD_DIM = 128;

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer Values { float v[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Output { float o[]; };
layout(std430, set = 0, binding = 4) buffer State { float state[]; };  // [row][head][D + 2]

layout(push_constant) uniform Push {
  uint queries;
  uint first_position;
  uint group_size;  // query heads per key/value head
  float scale;
  uint head_dim;
  uint q_token_stride, q_head_stride;
  uint kv_token_stride, kv_head_stride;
  uint out_token_stride, out_head_stride;
  uint q_first, k_first, v_first, out_first;
  uint key_begin, key_end;
  uint resume;    // 1: start from `state` instead of from nothing
  uint finalise;  // 1: write the normalised output; 0: save the running state
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

shared float k_tile[BLOCK_KEYS * MAX_HEAD_DIM];
shared float v_tile[BLOCK_KEYS * MAX_HEAD_DIM];
// Each row's running output lives in shared memory, touched only by its own invocation.
shared float acc[BLOCK_ROWS * MAX_HEAD_DIM];

void main() {
  const uint D = p.head_dim;
  const uint local_row = gl_LocalInvocationID.x;
  const uint row = gl_WorkGroupID.x * BLOCK_ROWS + local_row;
  const uint head = gl_WorkGroupID.y;
  const uint kv_head = head / p.group_size;
  const bool row_valid = row < p.queries;
  const uint position = p.first_position + row;
  const uint q_base = p.q_first + row * p.q_token_stride + head * p.q_head_stride;
  const uint acc_base = local_row * MAX_HEAD_DIM;
  const uint state_base = (row * gl_NumWorkGroups.y + head) * (D + 2);

  float running_max = NEG_INF;
  float running_sum = 0.0;
  if (row_valid && p.resume != 0) {
    for (uint d = 0; d < D; ++d) acc[acc_base + d] = state[state_base + d];
    running_max = state[state_base + D];
    running_sum = state[state_base + D + 1];
  } else {
    for (uint d = 0; d < D; ++d) acc[acc_base + d] = 0.0;
  }

  // Keys the last row of this block can see: everything up to its own position.
  const uint last_row = min(p.queries, (gl_WorkGroupID.x + 1) * BLOCK_ROWS) - 1;
  const uint key_end = min(p.key_end, p.first_position + last_row + 1);
  const uint kv_base = kv_head * p.kv_head_stride;

  for (uint tile = p.key_begin; tile < key_end; tile += BLOCK_KEYS) {
    barrier();  // the previous tile is no longer read
    for (uint i = local_row; i < BLOCK_KEYS * D; i += BLOCK_ROWS) {
      const uint key = tile + i / D;
      const uint d = i % D;
      const bool inside = key < key_end;
      const uint at = kv_base + key * p.kv_token_stride + d;
      k_tile[(i / D) * MAX_HEAD_DIM + d] = inside ? k[p.k_first + at] : 0.0;
      v_tile[(i / D) * MAX_HEAD_DIM + d] = inside ? v[p.v_first + at] : 0.0;
    }
    barrier();
    if (!row_valid) continue;

    float scores[BLOCK_KEYS];
    float tile_max = running_max;
    for (uint j = 0; j < BLOCK_KEYS; ++j) {
      float s = NEG_INF;
      if (tile + j <= position && tile + j < key_end) {
        s = 0.0;
        for (uint d = 0; d < D; ++d) s += q[q_base + d] * k_tile[j * MAX_HEAD_DIM + d];
        s *= p.scale;
      }
      scores[j] = s;
      tile_max = max(tile_max, s);
    }
    if (tile_max == NEG_INF) continue;  // every key of this tile lies in the future
    const float correction = exp(running_max - tile_max);
    running_sum *= correction;
    for (uint j = 0; j < BLOCK_KEYS; ++j) {
      scores[j] = exp(scores[j] - tile_max);  // exp(-inf) = 0 for masked keys
      running_sum += scores[j];
    }
    for (uint d = 0; d < D; ++d) {
      float a = acc[acc_base + d] * correction;
      for (uint j = 0; j < BLOCK_KEYS; ++j) a += scores[j] * v_tile[j * MAX_HEAD_DIM + d];
      acc[acc_base + d] = a;
    }
    running_max = tile_max;
  }

  if (!row_valid) return;
  if (p.finalise != 0) {
    const uint out_base = p.out_first + row * p.out_token_stride + head * p.out_head_stride;
    const float inverse = 1.0 / running_sum;
    for (uint d = 0; d < D; ++d) o[out_base + d] = acc[acc_base + d] * inverse;
  } else {
    for (uint d = 0; d < D; ++d) state[state_base + d] = acc[acc_base + d];
    state[state_base + D] = running_max;
    state[state_base + D + 1] = running_sum;
  }
}
