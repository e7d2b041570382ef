#include "engine/model/backward.h"

#include <string>

#include "engine/model/decoder_layer_backward.h"
#include "engine/ops/choice_loss_backward.h"
#include "engine/ops/linear_backward.h"
#include "engine/ops/rmsnorm_backward.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {

namespace {

void check_loss(const ModelConfig& c, const ChoiceLoss& loss) {
  if (loss.answers.empty() || loss.targets.size() != loss.answers.size()) {
    throw Error("backward: " + std::to_string(loss.targets.size()) + " targets for " +
                std::to_string(loss.answers.size()) + " answer tokens");
  }
  for (uint32_t id : loss.answers) {
    if (id >= static_cast<uint64_t>(c.vocab_size)) {
      throw Error("backward: answer token " + std::to_string(id) + " is outside the vocabulary");
    }
  }
}

}  // namespace

ActivationGradients backward(vk::Context& context, const ModelWeights& weights,
                             const SavedForward& forward, const ChoiceLoss& loss) {
  const ModelConfig& c = weights.config;
  check_loss(c, loss);
  const uint32_t T = forward.tokens();
  const auto H = static_cast<uint32_t>(c.hidden_size);
  const auto V = static_cast<uint32_t>(c.vocab_size);
  const auto C = static_cast<uint32_t>(loss.answers.size());
  const auto K = static_cast<uint32_t>(c.experts_per_token);
  const uint64_t row_bytes = uint64_t{H} * sizeof(float);
  const auto eps = static_cast<float>(c.rms_norm_eps);

  BackwardScratch b(context, c, T);
  vk::Buffer answers = context.create_buffer(C * sizeof(uint32_t), "answers");
  vk::Buffer targets = context.create_buffer(C * sizeof(float), "targets");
  vk::Buffer d_logits = context.create_buffer(uint64_t{V} * sizeof(float), "d logits");
  vk::Buffer d_final = context.create_buffer(row_bytes, "d final norm output");

  ActivationGradients out;
  vk::Stream stream(context);
  stream.upload(answers.span(), loss.answers.data(), C * sizeof(uint32_t));
  stream.upload(targets.span(), loss.targets.data(), C * sizeof(float));
  ops::choice_loss_backward(stream, {forward.last_logits_on_device(), answers.span(),
                                     targets.span(), d_logits.span(), 1, V, C});
  // Only the scoring position reaches lm_head: every other row of the residual starts at zero.
  const DeviceMatrix& head = weights.output();
  ops::linear_backward(stream, {.dy = d_logits.span(),
                                .w = head.buffer.span(),
                                .dx = d_final.span(),
                                .w_type = head.type,
                                .n = 1,
                                .out = head.rows,
                                .in = head.cols});
  stream.fill(b.dx.span(), 0);
  ops::rmsnorm_backward(stream, {.x = forward.final_input().sub((T - 1) * row_bytes, row_bytes),
                                 .weight = weights.output_norm.span(),
                                 .dy = d_final.span(),
                                 .dx = b.dx.span((T - 1) * row_bytes, row_bytes),
                                 .rows = 1,
                                 .cols = H,
                                 .eps = eps});

  const auto layers = static_cast<uint32_t>(weights.layers.size());
  std::vector<vk::Buffer> g(layers);
  for (uint32_t l = layers; l-- > 0;) {
    if (weights.layers[l].moe) {
      g[l] = context.create_buffer(uint64_t{T} * K * row_bytes, "g");
    }
    record_mlp_backward(stream, weights, l, forward, b, g[l].valid() ? g[l].span() : b.dh.span());
    record_attention_backward(stream, weights, l, forward, b);
  }
  stream.finish();

  for (uint32_t l = 0; l < layers; ++l) {
    if (!weights.layers[l].moe) continue;
    const ForwardScratch& s = forward.layer(l);
    out.moe_layers_.push_back({.layer = l,
                               .entries = T * K,
                               .g = g[l].span(),
                               .a = s.exp_act.span(),
                               .y = s.exp_out.span(),
                               .choices = s.choices.span(),
                               .counts = s.counts.span(),
                               .lists = s.lists.span()});
    out.g_.push_back(std::move(g[l]));
  }
  return out;
}

}  // namespace vkmoe::model
