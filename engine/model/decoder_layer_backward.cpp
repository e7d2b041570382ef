#include "engine/model/decoder_layer_backward.h"

#include <algorithm>
#include <bit>

#include "engine/ops/attention_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/moe_experts.h"
#include "engine/ops/moe_routing_backward.h"
#include "engine/ops/rmsnorm_backward.h"
#include "engine/ops/rope_backward.h"
#include "engine/ops/sigmoid_gate_backward.h"
#include "engine/ops/swiglu_backward.h"

namespace vkmoe::model {

namespace {

uint32_t dim(std::int64_t v) {
  return static_cast<uint32_t>(v);
}  // limits: model_config.h

vk::Buffer floats(vk::Context& context, uint64_t count, const char* name) {
  return context.create_buffer(std::max<uint64_t>(count, 1) * sizeof(float), name);
}

vk::BufferSpan first_floats(const vk::Buffer& b, uint64_t count) {
  return b.span(0, count * sizeof(float));
}

ops::AttentionShape attention_shape(const ModelConfig& c, uint32_t tokens) {
  return ops::AttentionShape::packed(tokens, 0, dim(c.num_heads), dim(c.num_kv_heads),
                                     dim(c.head_dim));
}

// dx (+)= dy · W for an nn.Linear weight on the device.
void linear_backward(vk::Stream& stream, vk::BufferSpan dy, const DeviceMatrix& w,
                     vk::BufferSpan dx, uint32_t n, bool accumulate) {
  ops::linear_backward(stream, {.dy = dy,
                                .w = w.buffer.span(),
                                .dx = dx,
                                .w_type = w.type,
                                .n = n,
                                .out = w.rows,
                                .in = w.cols,
                                .accumulate = accumulate});
}

// down(silu(gate · h) ⊙ up · h) from ∂loss/∂out to b.dh (added to when `accumulate`), over the
// intermediates the forward left in s.mlp_gate / s.mlp_up.
void swiglu_mlp_backward(vk::Stream& stream, const DeviceMatrix& gate, const DeviceMatrix& up,
                         const DeviceMatrix& down, const ForwardScratch& s, BackwardScratch& b,
                         vk::BufferSpan d_out, bool accumulate) {
  const uint32_t T = s.tokens;
  const uint64_t count = uint64_t{T} * gate.rows;
  const vk::BufferSpan d_act = first_floats(b.d_mlp_act, count);
  const vk::BufferSpan d_gate = first_floats(b.d_mlp_gate, count);
  const vk::BufferSpan d_up = first_floats(b.d_mlp_up, count);
  linear_backward(stream, d_out, down, d_act, T, false);
  ops::swiglu_backward(stream, {first_floats(s.mlp_gate, count), first_floats(s.mlp_up, count),
                                d_act, d_gate, d_up, count});
  linear_backward(stream, d_gate, gate, b.dh.span(), T, accumulate);
  linear_backward(stream, d_up, up, b.dh.span(), T, true);
}

// The routed experts and the router, from ∂loss/∂(block output) in b.dx: g per entry, and
// ∂loss/∂h written to b.dh through the experts' gate/up and the router's softmax and top-k.
void routed_experts_backward(vk::Stream& stream, const ModelConfig& c, const LayerWeights& w,
                             const ForwardScratch& s, BackwardScratch& b, vk::BufferSpan g) {
  const uint32_t T = s.tokens, H = dim(c.hidden_size), E = dim(c.num_experts);
  const uint32_t K = dim(c.experts_per_token), I = dim(c.moe_intermediate_size);
  const bool renormalise = c.norm_topk_prob && (c.arch == Arch::kQwen2Moe || K > 1);
  ops::moe_combine_backward(stream, {s.exp_out.span(), s.route_weights.span(), b.dx.span(), g,
                                     b.d_route_weights.span(), T, H, K});
  const auto back = [&](vk::BufferSpan dy, const DeviceMatrix& weights, vk::BufferSpan dx,
                        bool accumulate) {
    ops::moe_linear_backward(stream, {.dy = dy,
                                      .w = weights.expert_weights(),
                                      .dx = dx,
                                      .counts = s.counts.span(),
                                      .lists = s.lists.span(),
                                      .w_type = weights.type,
                                      .experts = E,
                                      .out = weights.rows,
                                      .in = weights.cols,
                                      .tokens = T,
                                      .top_k = K,
                                      .accumulate = accumulate});
  };
  back(g, w.experts_down, b.d_exp_act.span(), false);
  ops::swiglu_backward(stream, {s.exp_gate.span(), s.exp_up.span(), b.d_exp_act.span(),
                                b.d_exp_gate.span(), b.d_exp_up.span(), uint64_t{T} * K * I});
  back(b.d_exp_gate.span(), w.experts_gate, b.dx_entry.span(), false);
  back(b.d_exp_up.span(), w.experts_up, b.dx_entry.span(), true);
  ops::moe_combine(stream, b.dx_entry.span(), b.ones.span(), b.dh.span(), T, H, K,
                   /*accumulate=*/false);
  ops::moe_router_backward(stream,
                           {s.router_logits.span(), s.choices.span(), b.d_route_weights.span(),
                            b.d_router_logits.span(), T, E, K, renormalise});
  linear_backward(stream, b.d_router_logits.span(), w.router, b.dh.span(), T, true);
}

// A pre-norm block's input gradient: its RMSNorm's backward of dh (in b.dh), added into the
// residual gradient b.dx, which already carries the skip connection.
void norm_backward_into_residual(vk::Stream& stream, vk::BufferSpan x, const vk::Buffer& weight,
                                 const ModelConfig& c, BackwardScratch& b, uint32_t tokens) {
  ops::rmsnorm_backward(stream, {.x = x,
                                 .weight = weight.span(),
                                 .dy = b.dh.span(),
                                 .dx = b.dx.span(),
                                 .rows = tokens,
                                 .cols = dim(c.hidden_size),
                                 .eps = static_cast<float>(c.rms_norm_eps),
                                 .accumulate = true});
}

}  // namespace

BackwardScratch::BackwardScratch(vk::Context& context, const ModelConfig& c, uint32_t t)
    : tokens(t) {
  const uint64_t T = t, H = dim(c.hidden_size), Q = dim(c.num_heads * c.head_dim);
  const uint64_t KV = dim(c.num_kv_heads * c.head_dim);
  const uint64_t E = dim(c.num_experts), K = dim(c.experts_per_token);
  const uint64_t I = dim(c.moe_intermediate_size);
  const uint64_t mlp = dim(std::max(c.intermediate_size, c.shared_intermediate_size));
  dx = floats(context, T * H, "d residual");
  dh = floats(context, T * H, "d normed");
  d_attn = floats(context, T * Q, "d attention output");
  dq = floats(context, T * Q, "dq");
  dk = floats(context, T * KV, "dk");
  dv = floats(context, T * KV, "dv");
  attn_scratch = context.create_buffer(
      std::max<uint64_t>(ops::attention_backward_scratch_bytes(attention_shape(c, t)), 4),
      "attention backward scratch");
  d_shared = floats(context, T * H, "d shared expert");
  d_gate_logit = floats(context, T, "d shared expert gate");
  d_mlp_act = floats(context, T * mlp, "d mlp act");
  d_mlp_gate = floats(context, T * mlp, "d mlp gate");
  d_mlp_up = floats(context, T * mlp, "d mlp up");
  if (c.num_moe_layers() == 0) return;
  d_route_weights = floats(context, T * K, "d routing weights");
  d_router_logits = floats(context, T * E, "d router logits");
  d_exp_act = floats(context, T * K * I, "d expert act");
  d_exp_gate = floats(context, T * K * I, "d expert gate");
  d_exp_up = floats(context, T * K * I, "d expert up");
  dx_entry = floats(context, T * K * H, "d expert input");
  ones = floats(context, T * K, "unit weights");
}

void record_mlp_backward(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                         const SavedForward& forward, BackwardScratch& b, vk::BufferSpan g) {
  const ModelConfig& c = weights.config;
  const LayerWeights& w = weights.layers.at(layer);
  const ForwardScratch& s = forward.layer(layer);
  const uint32_t T = s.tokens, H = dim(c.hidden_size);
  if (!w.moe) {
    swiglu_mlp_backward(stream, w.gate, w.up, w.down, s, b, b.dx.span(), false);
  } else {
    stream.fill(b.ones.span(), std::bit_cast<uint32_t>(1.0f));
    routed_experts_backward(stream, c, w, s, b, g);
    if (w.shared_gate.present()) {
      vk::BufferSpan d_shared = b.dx.span();  // DeepSeek: ungated
      if (w.shared_expert_gate.present()) {
        // Qwen2-MoE: x += σ(z) · shared(h) with z = shared_expert_gate · h.
        ops::sigmoid_gate_backward(stream, {s.shared_gate_logit.span(), s.tmp.span(), b.dx.span(),
                                            b.d_shared.span(), b.d_gate_logit.span(), T, H});
        linear_backward(stream, b.d_gate_logit.span(), w.shared_expert_gate, b.dh.span(), T, true);
        d_shared = b.d_shared.span();
      }
      swiglu_mlp_backward(stream, w.shared_gate, w.shared_up, w.shared_down, s, b, d_shared, true);
    }
  }
  norm_backward_into_residual(stream, forward.mlp_input(layer), w.ffn_norm, c, b, T);
}

void record_attention_backward(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                               const SavedForward& forward, BackwardScratch& b) {
  const ModelConfig& c = weights.config;
  const LayerWeights& w = weights.layers.at(layer);
  const ForwardScratch& s = forward.layer(layer);
  const uint32_t T = s.tokens, hd = dim(c.head_dim);
  const uint32_t heads = dim(c.num_heads), kv_heads = dim(c.num_kv_heads);
  const KvCache& cache = forward.cache();

  linear_backward(stream, b.dx.span(), w.o, b.d_attn.span(), T, false);
  ops::attention_backward(stream, {.shape = attention_shape(c, T),
                                   .q = s.q.span(),
                                   .k_cache = cache.keys(layer),
                                   .v_cache = cache.values(layer),
                                   .out = s.attn.span(),
                                   .d_out = b.d_attn.span(),
                                   .dq = b.dq.span(),
                                   .dk = b.dk.span(),
                                   .dv = b.dv.span(),
                                   .scratch = b.attn_scratch.span()});
  // q and k were rotated after their projections (biases included): rotate the gradients back.
  const vk::BufferSpan inv_freq = weights.rope_inv_freq.span();
  ops::rope_backward(stream, {T, heads, hd, 0}, {b.dq.span()}, s.positions.span(), inv_freq,
                     {b.dq.span()});
  ops::rope_backward(stream, {T, kv_heads, hd, 0}, {b.dk.span()}, s.positions.span(), inv_freq,
                     {b.dk.span()});
  linear_backward(stream, b.dq.span(), w.q, b.dh.span(), T, false);
  linear_backward(stream, b.dk.span(), w.k, b.dh.span(), T, true);
  linear_backward(stream, b.dv.span(), w.v, b.dh.span(), T, true);
  norm_backward_into_residual(stream, forward.attention_input(layer), w.attn_norm, c, b, T);
}

}  // namespace vkmoe::model
