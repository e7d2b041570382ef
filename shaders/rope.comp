#version 450
// Rotary position embedding in the NeoX / Hugging Face `rotate_half` layout, for x viewed as
// [tokens, heads, head_dim] with arbitrary token and head strides (q or k inside a fused qkv):
//   angle = float(pos[t]) · inv_freq[i]            (f32, as HF's cos/sin of pos·inv_freq)
//   y[i]         = x[i] · cos − x[i + R/2] · sin    for i < R/2, R = rotary_dim
//   y[i + R/2]   = x[i + R/2] · cos + x[i] · sin
//   y[j]         = x[j]                             for R ≤ j < head_dim
// With `inverse` the rotation is by −angle (sin negated): the transpose of the forward
// rotation, so applied to ∂loss/∂y it gives ∂loss/∂x (RoPE's backward).
// One invocation per rotated pair or passed-through element. Safe in place: an invocation
// reads exactly the elements it writes.
#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, set = 0, binding = 0) readonly buffer Input { float x[]; };
layout(std430, set = 0, binding = 1) readonly buffer Positions { uint positions[]; };
layout(std430, set = 0, binding = 2) readonly buffer InverseFrequencies { float inv_freq[]; };
layout(std430, set = 0, binding = 3) writeonly buffer Output { float result[]; };

layout(push_constant) uniform Push {
  uint tokens;
  uint heads;
  uint head_dim;
  uint rotary_dim;
  uint x_token_stride;
  uint x_head_stride;
  uint out_token_stride;
  uint out_head_stride;
  uint x_first;
  uint positions_first;
  uint inv_freq_first;
  uint out_first;
  uint copy_tail;  // 0 in place: the passed-through elements are already there
  uint inverse;    // 1: rotate by −angle
} p;

// (sin, cos) of an angle, accurate to a few ulp for angles below ~4e5 rad. GLSL's
// built-ins promise little (absolute error 2^-11 on [−π, π], nothing outside), and HF takes
// cos/sin of angles in the thousands, so the range reduction and polynomials are our own:
// angle = k·π/2 + r with |r| ≤ π/4, π/2 split Cody–Waite style into parts whose products
// with k < 2^18 are exact, then Cephes' minimax polynomials for sinf/cosf on [−π/4, π/4].
vec2 sin_cos(float angle) {
  const float two_over_pi = 0.636619772;
  const float half_pi_1 = 1.5625;            // 6 significant bits
  const float half_pi_2 = 0.00830078125;     // 6 significant bits
  const float half_pi_3 = -4.410743713e-06;  // 6 significant bits
  const float half_pi_4 = -4.371138829e-08;  // the rest, rounded
  const float k = floor(angle * two_over_pi + 0.5);
  precise float r = angle - k * half_pi_1;
  r = r - k * half_pi_2;
  r = r - k * half_pi_3;
  r = r - k * half_pi_4;
  const float z = r * r;
  const float s = ((-1.9515295891e-4 * z + 8.3321608736e-3) * z - 1.6666654611e-1) * z * r + r;
  const float c =
      ((2.443315711809948e-5 * z - 1.388731625493765e-3) * z + 4.166664568298827e-2) * z * z -
      0.5 * z + 1.0;
  switch (int(k) & 3) {
    case 0: return vec2(s, c);
    case 1: return vec2(c, -s);
    case 2: return vec2(-s, -c);
    default: return vec2(-c, s);
  }
}

void main() {
  const uint half_rotary = p.rotary_dim / 2;
  const uint items_per_head = p.head_dim - half_rotary;  // rotated pairs, then the tail
  const uint item = linear_invocation();
  if (item >= p.tokens * p.heads * items_per_head) return;
  const uint i = item % items_per_head;
  const uint token_head = item / items_per_head;
  const uint head = token_head % p.heads;
  const uint token = token_head / p.heads;
  const uint in_base = p.x_first + token * p.x_token_stride + head * p.x_head_stride;
  const uint out_base = p.out_first + token * p.out_token_stride + head * p.out_head_stride;

  if (i < half_rotary) {
    const precise float angle = float(positions[p.positions_first + token]) * inv_freq[p.inv_freq_first + i];
    vec2 sc = sin_cos(angle);
    if (p.inverse != 0) sc.x = -sc.x;
    const float first = x[in_base + i];
    const float second = x[in_base + i + half_rotary];
    result[out_base + i] = first * sc.y - second * sc.x;
    result[out_base + i + half_rotary] = second * sc.y + first * sc.x;
  } else if (p.copy_tail != 0) {
    const uint j = p.rotary_dim + (i - half_rotary);
    result[out_base + j] = x[in_base + j];
  }
}
