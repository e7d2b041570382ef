// What the three passes of causal GQA attention's backward share (attention_backward_*.comp):
// the push constants and the layouts of q, k, v, out and their gradients.
//
// Forward (attention_prefill.comp): query t of head h at position first_position + t sees
// keys j ≤ that position of key/value head g = h / group_size;
//   s_tj = scale · q_t · k_j,  P = softmax_j(s),  out_t = Σ_j P_tj v_j.
// Backward, with delta_t = Σ_d dout_t · out_t and the softmax statistics (max, sum) of each
// row recomputed:
//   dP_tj = dout_t · v_j,  dS_tj = P_tj (dP_tj − delta_t)
//   dq_t = scale Σ_j dS_tj k_j,  dk_j = scale Σ_{h,t} dS_tj q_t,  dv_j = Σ_{h,t} P_tj dout_t
// (dk, dv summed over the query heads sharing the key/value head).
//
// A device that bounds loop iterations (lavapipe) gets each pass in several dispatches over
// [begin, end) of keys (stats, dq) or queries (dk/dv); state carries through the buffers.
// head_dim is a push constant ≤ MAX_HEAD_DIM, loops keep run-time bounds.
#ifndef VKMOE_ATTENTION_BACKWARD_GLSL
#define VKMOE_ATTENTION_BACKWARD_GLSL

#extension GL_GOOGLE_include_directive : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MAX_HEAD_DIM = 64;

layout(push_constant) uniform Push {
  uint queries;
  uint first_position;
  uint q_heads;
  uint kv_heads;
  uint group_size;  // query heads per key/value head
  float scale;
  uint head_dim;
  uint q_token_stride, q_head_stride;  // q and dq
  uint kv_token_stride, kv_head_stride;  // k, v, dk and dv
  uint out_token_stride, out_head_stride;  // out and dout
  uint q_first, k_first, v_first, out_first, d_out_first;
  uint grad_first, grad2_first;  // dq (dq pass), or dk and dv (dk/dv pass)
  uint begin, end;               // keys (stats, dq) or queries (dk/dv) of this dispatch
  uint first_dispatch;           // 1: start from nothing instead of the buffers
} p;

#define NEG_INF uintBitsToFloat(0xff800000u)

uint q_at(uint t, uint h) { return t * p.q_token_stride + h * p.q_head_stride; }
uint kv_at(uint j, uint g) { return j * p.kv_token_stride + g * p.kv_head_stride; }
uint out_at(uint t, uint h) { return t * p.out_token_stride + h * p.out_head_stride; }

#endif
