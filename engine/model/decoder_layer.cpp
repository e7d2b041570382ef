#include "engine/model/decoder_layer.h"

#include <algorithm>
#include <string>

#include "engine/ops/attention.h"
#include "engine/ops/broadcast.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/gemm.h"
#include "engine/ops/gemv.h"
#include "engine/ops/moe_experts.h"
#include "engine/ops/moe_router.h"
#include "engine/ops/rmsnorm.h"
#include "engine/ops/rope.h"

namespace vkmoe::model {

namespace {

uint32_t dim(std::int64_t v) {
  return static_cast<uint32_t>(v);
}  // limits: model_config.h

// Up to this many tokens a forward multiplies by GEMV (weights read once per token, every
// load feeding a whole row) rather than GEMM (tiles that pay off only with many rows): decode
// and short chunks. Measured with `vkmoe bench -m` on the bench model.
constexpr uint32_t kGemvMaxTokens = 4;

// Kernels bind whole spans; a buffer of nothing is still one word so every binding is valid.
vk::Buffer floats(vk::Context& context, uint64_t count, const char* name) {
  return context.create_buffer(std::max<uint64_t>(count, 1) * sizeof(float), name);
}

ops::AttentionShape attention_shape(const ModelConfig& c, uint32_t tokens, uint32_t first) {
  return ops::AttentionShape::packed(tokens, first, dim(c.num_heads), dim(c.num_kv_heads),
                                     dim(c.head_dim));
}

}  // namespace

ForwardScratch::ForwardScratch(vk::Context& context, const ModelConfig& c, uint32_t t,
                               uint32_t first_position)
    : tokens(t) {
  const uint64_t T = t, H = dim(c.hidden_size), Q = dim(c.num_heads * c.head_dim);
  const uint64_t E = dim(c.num_experts), K = dim(c.experts_per_token);
  const uint64_t I = dim(c.moe_intermediate_size);
  const uint64_t mlp = dim(std::max(c.intermediate_size, c.shared_intermediate_size));
  const bool moe = c.num_moe_layers() > 0;
  ids = floats(context, T, "token ids");
  positions = floats(context, T, "positions");
  status = floats(context, 1, "embedding status");
  x = floats(context, T * H, "residual");
  h = floats(context, T * H, "normed");
  tmp = floats(context, T * H, "block output");
  q = floats(context, T * Q, "q");
  attn = floats(context, T * Q, "attention output");
  const uint64_t scratch_bytes =
      ops::attention_scratch_bytes(context.info(), attention_shape(c, t, first_position));
  attn_scratch = context.create_buffer(std::max<uint64_t>(scratch_bytes, 4), "attention scratch");
  mlp_gate = floats(context, T * mlp, "mlp gate");
  mlp_up = floats(context, T * mlp, "mlp up");
  mlp_act = floats(context, T * mlp, "mlp act");
  if (!moe) return;
  router_logits = floats(context, T * E, "router logits");
  route_weights = floats(context, T * K, "routing weights");
  choices = floats(context, T * K, "routing choices");
  counts = floats(context, E, "expert counts");
  lists = floats(context, E * T, "expert lists");
  exp_gate = floats(context, T * K * I, "expert gate");
  exp_up = floats(context, T * K * I, "expert up");
  exp_act = floats(context, T * K * I, "expert act");
  exp_out = floats(context, T * K * H, "expert out");
  shared_gate_logit = floats(context, T, "shared expert gate");
}

void linear(vk::Stream& stream, vk::BufferSpan x, const DeviceMatrix& w, vk::BufferSpan y,
            uint32_t n) {
  if (n <= kGemvMaxTokens) {
    ops::gemv(
        stream,
        {.w = w.buffer.span(), .x = x, .y = y, .w_type = w.type, .m = w.rows, .k = w.cols, .n = n});
    return;
  }
  ops::GemmArgs a;
  a.x = x;
  a.w = w.buffer.span();
  a.y = y;
  a.w_type = w.type;
  a.n = n;
  a.m = w.rows;
  a.k = w.cols;
  ops::gemm(stream, a);
}

void record_attention(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                      KvCache& cache, uint32_t first_position, ForwardScratch& s) {
  const ModelConfig& c = weights.config;
  const LayerWeights& w = weights.layers.at(layer);
  const uint32_t T = s.tokens, H = dim(c.hidden_size), hd = dim(c.head_dim);
  const uint32_t heads = dim(c.num_heads), kv_heads = dim(c.num_kv_heads);
  const auto eps = static_cast<float>(c.rms_norm_eps);

  ops::rmsnorm(stream, s.x.span(), w.attn_norm.span(), s.h.span(), T, H, eps);
  // K and V go straight into their cache rows: the projection's output is the cache.
  const vk::BufferSpan k = cache.keys(layer, first_position, T);
  const vk::BufferSpan v = cache.values(layer, first_position, T);
  linear(stream, s.h.span(), w.q, s.q.span(), T);
  linear(stream, s.h.span(), w.k, k, T);
  linear(stream, s.h.span(), w.v, v, T);
  if (w.q_bias.valid()) {
    ops::add_bias(stream, s.q.span(), w.q_bias.span(), T, heads * hd);
    ops::add_bias(stream, k, w.k_bias.span(), T, kv_heads * hd);
    ops::add_bias(stream, v, w.v_bias.span(), T, kv_heads * hd);
  }
  const vk::BufferSpan inv_freq = weights.rope_inv_freq.span();
  ops::rope(stream, {T, heads, hd, 0}, {s.q.span()}, s.positions.span(), inv_freq, {s.q.span()});
  ops::rope(stream, {T, kv_heads, hd, 0}, {k}, s.positions.span(), inv_freq, {k});

  ops::attention(stream, s.q.span(), cache.keys(layer), cache.values(layer), s.attn.span(),
                 s.attn_scratch.span(), attention_shape(c, T, first_position));
  linear(stream, s.attn.span(), w.o, s.tmp.span(), T);
  if (w.o_bias.valid()) ops::add_bias(stream, s.tmp.span(), w.o_bias.span(), T, H);
  ops::add(stream, s.x.span(), s.tmp.span(), s.x.span(), uint64_t{T} * H);
}

namespace {

// down(silu(gate · h) ⊙ up · h) for a dense MLP or the shared expert(s), into `out`.
void swiglu_mlp(vk::Stream& stream, const DeviceMatrix& gate, const DeviceMatrix& up,
                const DeviceMatrix& down, ForwardScratch& s, vk::BufferSpan out) {
  const uint32_t T = s.tokens;
  linear(stream, s.h.span(), gate, s.mlp_gate.span(), T);
  linear(stream, s.h.span(), up, s.mlp_up.span(), T);
  ops::swiglu(stream, s.mlp_gate.span(), s.mlp_up.span(), s.mlp_act.span(),
              uint64_t{T} * gate.rows);
  linear(stream, s.mlp_act.span(), down, out, T);
}

// Router → the top-k experts of every token → their weighted sum added to the residual.
void routed_experts(vk::Stream& stream, const ModelConfig& c, const LayerWeights& w,
                    ForwardScratch& s) {
  const uint32_t T = s.tokens, H = dim(c.hidden_size), E = dim(c.num_experts);
  const uint32_t K = dim(c.experts_per_token), I = dim(c.moe_intermediate_size);
  linear(stream, s.h.span(), w.router, s.router_logits.span(), T);
  // Qwen2-MoE renormalises with norm_topk_prob; DeepSeek's MoEGate only when top_k > 1.
  const bool renormalise = c.norm_topk_prob && (c.arch == Arch::kQwen2Moe || K > 1);
  ops::moe_router(stream, s.router_logits.span(), s.route_weights.span(), s.choices.span(),
                  s.counts.span(), s.lists.span(), {T, E, K, renormalise});

  // One expert product: input rows through the chosen experts of `w` into `out` (m rows of
  // out per entry), by the decode GEMV for a few tokens, else the expert-batched GEMM.
  const auto product = [&](vk::BufferSpan in, const DeviceMatrix& weights, vk::BufferSpan out,
                           bool per_entry) {
    if (T <= kGemvMaxTokens) {
      ops::moe_gemv(stream, {.x = in,
                             .w = weights.expert_weights(),
                             .y = out,
                             .choices = s.choices.span(),
                             .w_type = weights.type,
                             .experts = E,
                             .m = weights.rows,
                             .k = weights.cols,
                             .tokens = T,
                             .top_k = K,
                             .x_per_entry = per_entry});
      return;
    }
    ops::moe_gemm(stream, {.x = in,
                           .w = weights.expert_weights(),
                           .y = out,
                           .counts = s.counts.span(),
                           .lists = s.lists.span(),
                           .w_type = weights.type,
                           .experts = E,
                           .m = weights.rows,
                           .k = weights.cols,
                           .tokens = T,
                           .top_k = K,
                           .x_per_entry = per_entry});
  };
  product(s.h.span(), w.experts_gate, s.exp_gate.span(), false);
  product(s.h.span(), w.experts_up, s.exp_up.span(), false);
  ops::swiglu(stream, s.exp_gate.span(), s.exp_up.span(), s.exp_act.span(), uint64_t{T} * K * I);
  product(s.exp_act.span(), w.experts_down, s.exp_out.span(), true);
  ops::moe_combine(stream, s.exp_out.span(), s.route_weights.span(), s.x.span(), T, H, K,
                   /*accumulate=*/true);
}

}  // namespace

void record_mlp(vk::Stream& stream, const ModelWeights& weights, uint32_t layer,
                ForwardScratch& s) {
  const ModelConfig& c = weights.config;
  const LayerWeights& w = weights.layers.at(layer);
  const uint32_t T = s.tokens, H = dim(c.hidden_size);
  const uint64_t n = uint64_t{T} * H;
  ops::rmsnorm(stream, s.x.span(), w.ffn_norm.span(), s.h.span(), T, H,
               static_cast<float>(c.rms_norm_eps));
  if (!w.moe) {
    swiglu_mlp(stream, w.gate, w.up, w.down, s, s.tmp.span());
    ops::add(stream, s.x.span(), s.tmp.span(), s.x.span(), n);
    return;
  }
  routed_experts(stream, c, w, s);
  if (!w.shared_gate.present()) return;
  swiglu_mlp(stream, w.shared_gate, w.shared_up, w.shared_down, s, s.tmp.span());
  if (w.shared_expert_gate.present()) {
    // Qwen2-MoE: sigmoid(shared_expert_gate · h) scales the shared expert.
    linear(stream, s.h.span(), w.shared_expert_gate, s.shared_gate_logit.span(), T);
    ops::add_sigmoid_gated(stream, s.x.span(), s.shared_gate_logit.span(), s.tmp.span(), T, H);
  } else {
    ops::add(stream, s.x.span(), s.tmp.span(), s.x.span(), n);  // DeepSeek: ungated
  }
}

}  // namespace vkmoe::model
