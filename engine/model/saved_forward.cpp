#include "engine/model/saved_forward.h"

#include <string>

#include "engine/ops/elementwise.h"
#include "engine/ops/embedding.h"
#include "engine/ops/rmsnorm.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {

namespace {

uint32_t checked_length(std::span<const uint32_t> tokens, const ModelConfig& c) {
  if (tokens.empty()) throw Error("saved forward: no tokens");
  for (uint32_t id : tokens) {
    if (id >= static_cast<uint64_t>(c.vocab_size)) {
      throw Error("saved forward: token " + std::to_string(id) + " is outside the vocabulary (" +
                  std::to_string(c.vocab_size) + " tokens)");
    }
  }
  return static_cast<uint32_t>(tokens.size());
}

}  // namespace

SavedForward::SavedForward(vk::Context& context, const ModelWeights& weights,
                           std::span<const uint32_t> tokens)
    : tokens_(checked_length(tokens, weights.config)), cache_(context, weights.config, tokens_) {
  const ModelConfig& c = weights.config;
  const uint32_t T = tokens_;
  const auto H = static_cast<uint32_t>(c.hidden_size);
  const auto V = static_cast<uint32_t>(c.vocab_size);
  const uint64_t n = uint64_t{T} * H;
  const uint64_t row_bytes = uint64_t{H} * sizeof(float);
  embedded_ = context.create_buffer(n * sizeof(float), "embedded");
  // Copies along the residual stream are additions of zero (there is no copy kernel).
  vk::Buffer zeros = context.create_buffer(n * sizeof(float), "zeros");
  logits_ = context.create_buffer(uint64_t{V} * sizeof(float), "logits");
  std::vector<uint32_t> positions(T);
  for (uint32_t t = 0; t < T; ++t) positions[t] = t;

  layers_.reserve(weights.layers.size());
  vk::Stream stream(context);
  stream.fill(zeros.span(), 0);
  for (size_t l = 0; l < weights.layers.size(); ++l) {
    layers_.emplace_back(context, c, T, 0);
    mlp_inputs_.push_back(context.create_buffer(n * sizeof(float), "mlp input"));
    stream.upload(layers_.back().positions.span(), positions.data(), T * sizeof(uint32_t));
  }
  ForwardScratch& first = layers_.front();
  stream.upload(first.ids.span(), tokens.data(), T * sizeof(uint32_t));
  stream.fill(first.status.span(), 0);
  ops::EmbeddingArgs e;
  e.table = weights.embedding.buffer.span();
  e.ids = first.ids.span();
  e.out = embedded_.span();
  e.status = first.status.span();
  e.table_type = weights.embedding.type;
  e.tokens = T;
  e.columns = H;
  e.vocab = V;
  ops::embedding(stream, e);

  for (uint32_t l = 0; l < layers_.size(); ++l) {
    ForwardScratch& s = layers_[l];
    ops::add(stream, attention_input(l), zeros.span(), s.x.span(), n);
    record_attention(stream, weights, l, cache_, 0, s);
    ops::add(stream, s.x.span(), zeros.span(), mlp_inputs_[l].span(), n);
    record_mlp(stream, weights, l, s);
  }
  ForwardScratch& last = layers_.back();
  const vk::BufferSpan last_row = last.x.span((T - 1) * row_bytes, row_bytes);
  ops::rmsnorm(stream, last_row, weights.output_norm.span(), last.h.span(0, row_bytes), 1, H,
               static_cast<float>(c.rms_norm_eps));
  linear(stream, last.h.span(0, row_bytes), weights.output(), logits_.span(), 1);

  last_logits_.resize(V);
  stream.download(logits_.span(), last_logits_.data(), uint64_t{V} * sizeof(float));
  stream.finish();
  cache_.set_length(T);
}

vk::BufferSpan SavedForward::attention_input(uint32_t l) const {
  return l == 0 ? embedded_.span() : layers_.at(l - 1).x.span();
}

}  // namespace vkmoe::model
