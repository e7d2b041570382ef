#version 450
// Fused MoE router for one token per workgroup: softmax over the E router logits (f32),
// top-k (ties to the smaller expert id), optional renormalisation of the k weights, and the
// per-expert routing lists the expert GEMMs gather from: expert e's list gets the entry
// t * k + j for every token t whose j-th choice is e. The host never reads the choices.

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint GROUP_SIZE = 64;  // a power of two

layout(std430, set = 0, binding = 0) readonly buffer Logits { float logits[]; };       // [T, E]
layout(std430, set = 0, binding = 1) writeonly buffer Weights { float weights[]; };    // [T, k]
layout(std430, set = 0, binding = 2) writeonly buffer Choices { uint choices[]; };     // [T, k]
layout(std430, set = 0, binding = 3) buffer Counts { uint counts[]; };                 // [E], zeroed
layout(std430, set = 0, binding = 4) writeonly buffer Lists { uint lists[]; };         // [E, T]

layout(push_constant) uniform Push {
  uint tokens;
  uint experts;
  uint top_k;
  uint renormalise;
  uint logits_first;
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

shared float best_value[GROUP_SIZE];
shared uint best_index[GROUP_SIZE];
shared float probability[1024];  // softmax of this token's logits; E ≤ 1024
shared float chosen[1024];       // the k chosen probabilities, in order

void main() {
  const uint lane = gl_LocalInvocationID.x;
  const uint token = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
  if (token >= p.tokens) return;  // uniform per workgroup
  const uint base = p.logits_first + token * p.experts;

  float local_max = NEG_INF;
  for (uint e = lane; e < p.experts; e += GROUP_SIZE) local_max = max(local_max, logits[base + e]);
  best_value[lane] = local_max;
  barrier();
  for (uint stride = GROUP_SIZE / 2; stride > 0; stride /= 2) {
    if (lane < stride) best_value[lane] = max(best_value[lane], best_value[lane + stride]);
    barrier();
  }
  const float top = best_value[0];
  barrier();

  float local_sum = 0.0;
  for (uint e = lane; e < p.experts; e += GROUP_SIZE) {
    const float w = exp(logits[base + e] - top);
    probability[e] = w;
    local_sum += w;
  }
  best_value[lane] = local_sum;
  barrier();
  for (uint stride = GROUP_SIZE / 2; stride > 0; stride /= 2) {
    if (lane < stride) best_value[lane] += best_value[lane + stride];
    barrier();
  }
  const float inverse_total = 1.0 / best_value[0];
  barrier();
  for (uint e = lane; e < p.experts; e += GROUP_SIZE) probability[e] *= inverse_total;
  barrier();

  // k rounds of arg-max; a chosen expert's probability is set to -inf in shared memory.
  // Probabilities are ≥ 0, so starting from -1 skips chosen experts; a NaN never wins.
  for (uint j = 0; j < p.top_k; ++j) {
    float value = -1.0;
    uint index = 0xffffffffu;
    for (uint e = lane; e < p.experts; e += GROUP_SIZE) {
      if (probability[e] > value) {  // ascending e: the first of equal values stays
        value = probability[e];
        index = e;
      }
    }
    best_value[lane] = value;
    best_index[lane] = index;
    barrier();
    for (uint stride = GROUP_SIZE / 2; stride > 0; stride /= 2) {
      if (lane < stride) {
        const float other = best_value[lane + stride];
        const uint other_index = best_index[lane + stride];
        if (other > best_value[lane] ||
            (other == best_value[lane] && other_index < best_index[lane])) {
          best_value[lane] = other;
          best_index[lane] = other_index;
        }
      }
      barrier();
    }
    if (lane == 0) {
      uint winner = best_index[0];
      float winner_value = best_value[0];
      if (winner >= p.experts) {  // only NaN left: take the first expert not yet chosen
        winner = 0;
        while (probability[winner] == NEG_INF) ++winner;
        winner_value = probability[winner];
      }
      chosen[j] = winner_value;
      choices[token * p.top_k + j] = winner;
      const uint slot = atomicAdd(counts[winner], 1u);
      lists[winner * p.tokens + slot] = token * p.top_k + j;
      probability[winner] = NEG_INF;
    }
    barrier();
  }

  float scale = 1.0;
  if (p.renormalise != 0) {
    float total = 0.0;
    for (uint j = 0; j < p.top_k; ++j) total += chosen[j];
    scale = 1.0 / total;
  }
  for (uint j = lane; j < p.top_k; j += GROUP_SIZE) {
    weights[token * p.top_k + j] = chosen[j] * scale;
  }
}
