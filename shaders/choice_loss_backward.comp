#version 450
// Backward of the multiple-choice cross-entropy at a scoring position: the loss of one row
// (example) is −Σ_c target[c] · log softmax_c(logits[ids[c]]) over the C answer tokens, so
//   d logits[ids[c]] = (Σ_c' target[c']) · P_c − target[c],  every other vocabulary entry 0.
// (One-hot targets give the empirical or sampled-label Fisher's gradient; the exact Fisher
// runs one row per answer.) One workgroup per row: it clears the row, then writes the C
// answer entries (C ≤ GROUP_SIZE, answer ids distinct).
#extension GL_GOOGLE_include_directive : require

layout(constant_id = 0) const uint GROUP_SIZE = 256;
layout(local_size_x_id = 0) in;

#include "row_reduce.glsl"

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };    // [rows, V]
layout(std430, set = 0, binding = 1) readonly buffer Answers { uint ids[]; };       // [C]
layout(std430, set = 0, binding = 2) readonly buffer Targets { float targets[]; };  // [rows, C]
layout(std430, set = 0, binding = 3) writeonly buffer LogitGradient { float d_logits[]; };  // [rows, V]

layout(push_constant) uniform Push {
  uint rows;
  uint vocab;
  uint choices;
  uint logits_first;
  uint ids_first;
  uint targets_first;
  uint d_logits_first;
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

void main() {
  const uint row = workgroup_row();
  if (row >= p.rows) return;  // uniform for the whole workgroup
  const uint lane = gl_LocalInvocationID.x;
  const uint out_base = p.d_logits_first + row * p.vocab;
  for (uint v = lane; v < p.vocab; v += GROUP_SIZE) d_logits[out_base + v] = 0.0;

  const bool mine = lane < p.choices;
  const float logit = mine ? logits[p.logits_first + row * p.vocab + ids[p.ids_first + lane]] : NEG_INF;
  const float target = mine ? targets[p.targets_first + row * p.choices + lane] : 0.0;
  const float top = workgroup_reduce(logit, REDUCE_MAX);
  const float weight = mine ? exp(logit - top) : 0.0;
  const float total = workgroup_reduce(weight, REDUCE_SUM);
  const float target_sum = workgroup_reduce(target, REDUCE_SUM);
  // The clearing stores above must land before the answer entries are written.
  memoryBarrierBuffer();
  barrier();
  if (mine) d_logits[out_base + ids[p.ids_first + lane]] = target_sum * (weight / total) - target;
}
