#version 450
// Attention of one new token over the KV cache, split-K: the cache is cut into pieces of
// SPLIT_KEYS keys, one workgroup per (piece, query head) computes a partial result (its max
// score m, its sum of exp l, and its unnormalised output), and attention_combine merges them.
// Partials are laid out [head][split][head_dim + 2]. head_dim is a push constant (loops with
// run-time bounds compile quickly on CPU drivers).

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint GROUP_SIZE = 64;
layout(constant_id = 1) const uint SPLIT_KEYS = 256;
layout(constant_id = 2) const uint MAX_HEAD_DIM = 128;

layout(std430, set = 0, binding = 0) readonly buffer Queries { float q[]; };
layout(std430, set = 0, binding = 1) readonly buffer Keys { float k[]; };
layout(std430, set = 0, binding = 2) readonly buffer Values { float v[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Partials { float partial[]; };

layout(push_constant) uniform Push {
  uint keys;  // valid keys: first_position + 1
  uint splits;
  uint group_size;  // query heads per key/value head
  float scale;
  uint head_dim;
  uint q_head_stride;
  uint kv_token_stride, kv_head_stride;
  uint q_first, k_first, v_first;
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

shared float query[MAX_HEAD_DIM];
shared float weights[SPLIT_KEYS];
shared float reduce[GROUP_SIZE];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint split = gl_WorkGroupID.x;
  const uint head = gl_WorkGroupID.y;
  const uint kv_base = (head / p.group_size) * p.kv_head_stride;
  const uint first_key = split * SPLIT_KEYS;
  const uint count = min(SPLIT_KEYS, p.keys - first_key);
  const uint D = p.head_dim;

  for (uint d = tid; d < D; d += GROUP_SIZE) {
    query[d] = q[p.q_first + head * p.q_head_stride + d] * p.scale;
  }
  barrier();

  float local_max = NEG_INF;
  for (uint j = tid; j < count; j += GROUP_SIZE) {
    const uint at = p.k_first + kv_base + (first_key + j) * p.kv_token_stride;
    float s = 0.0;
    for (uint d = 0; d < D; ++d) s += query[d] * k[at + d];
    weights[j] = s;
    local_max = max(local_max, s);
  }
  reduce[tid] = local_max;
  barrier();
  for (uint stride = GROUP_SIZE / 2; stride > 0; stride /= 2) {
    if (tid < stride) reduce[tid] = max(reduce[tid], reduce[tid + stride]);
    barrier();
  }
  const float split_max = reduce[0];
  barrier();

  float local_sum = 0.0;
  for (uint j = tid; j < count; j += GROUP_SIZE) {
    const float w = exp(weights[j] - split_max);
    weights[j] = w;
    local_sum += w;
  }
  reduce[tid] = local_sum;
  barrier();
  for (uint stride = GROUP_SIZE / 2; stride > 0; stride /= 2) {
    if (tid < stride) reduce[tid] += reduce[tid + stride];
    barrier();
  }

  const uint slot = (head * p.splits + split) * (D + 2);
  for (uint d = tid; d < D; d += GROUP_SIZE) {
    float acc = 0.0;
    for (uint j = 0; j < count; ++j) {
      acc += weights[j] * v[p.v_first + kv_base + (first_key + j) * p.kv_token_stride + d];
    }
    partial[slot + d] = acc;
  }
  if (tid == 0) {
    partial[slot + D] = split_max;
    partial[slot + D + 1] = reduce[0];
  }
}
