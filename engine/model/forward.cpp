#include "engine/model/forward.h"

#include <string>

#include "engine/model/decoder_layer.h"
#include "engine/ops/embedding.h"
#include "engine/ops/rmsnorm.h"
#include "engine/vk/error.h"
#include "engine/vk/stream.h"

namespace vkmoe::model {
namespace {

// The forward; `hidden` (when not null) receives the final-norm rows. Plain forward() leaves it
// out so decode does not pay for a second download per token.
std::vector<float> run_forward(vk::Context& context, const ModelWeights& weights, KvCache& cache,
                               const ForwardRequest& request, std::vector<float>* hidden) {
  const ModelConfig& c = weights.config;
  const auto T = static_cast<uint32_t>(request.tokens.size());
  const uint32_t p0 = request.first_position;
  const auto H = static_cast<uint32_t>(c.hidden_size);
  const auto V = static_cast<uint32_t>(c.vocab_size);
  if (T == 0) throw Error("forward: no tokens");
  if (p0 > cache.length()) {
    throw Error("forward: first position " + std::to_string(p0) + " leaves a gap after the " +
                std::to_string(cache.length()) + " cached positions");
  }
  if (uint64_t{p0} + T > cache.capacity()) {
    throw Error("forward: positions " + std::to_string(p0) + ".." + std::to_string(p0 + T - 1) +
                " do not fit a KV cache of " + std::to_string(cache.capacity()) + " tokens");
  }
  for (uint32_t id : request.tokens) {
    if (id >= V) {
      throw Error("forward: token " + std::to_string(id) + " is outside the vocabulary (" +
                  std::to_string(V) + " tokens)");
    }
  }
  std::vector<uint32_t> positions(T);
  for (uint32_t t = 0; t < T; ++t) positions[t] = p0 + t;

  ForwardScratch s(context, c, T, p0);
  const uint32_t rows = request.logits == LogitsFor::kAll ? T : 1;
  vk::Buffer logits = context.create_buffer(uint64_t{rows} * V * sizeof(float), "logits");

  vk::Stream stream(context);
  stream.upload(s.ids.span(), request.tokens.data(), T * sizeof(uint32_t));
  stream.upload(s.positions.span(), positions.data(), T * sizeof(uint32_t));
  stream.fill(s.status.span(), 0);
  ops::EmbeddingArgs e;
  e.table = weights.embedding.buffer.span();
  e.ids = s.ids.span();
  e.out = s.x.span();
  e.status = s.status.span();
  e.table_type = weights.embedding.type;
  e.tokens = T;
  e.columns = H;
  e.vocab = V;
  ops::embedding(stream, e);

  for (uint32_t l = 0; l < weights.layers.size(); ++l) {
    record_attention(stream, weights, l, cache, p0, s);
    record_mlp(stream, weights, l, s);
  }

  // Only the rows whose logits are wanted go through the final norm and lm_head.
  const uint64_t row_bytes = uint64_t{H} * sizeof(float);
  const vk::BufferSpan last = s.x.span((T - rows) * row_bytes, rows * row_bytes);
  ops::rmsnorm(stream, last, weights.output_norm.span(), s.h.span(0, rows * row_bytes), rows, H,
               static_cast<float>(c.rms_norm_eps));
  linear(stream, s.h.span(), weights.output(), logits.span(), rows);

  std::vector<float> out(uint64_t{rows} * V);
  uint32_t status = 0;
  stream.download(logits.span(), out.data(), out.size() * sizeof(float));
  if (hidden != nullptr) {
    hidden->resize(uint64_t{rows} * H);
    stream.download(s.h.span(0, rows * row_bytes), hidden->data(), rows * row_bytes);
  }
  stream.download(s.status.span(), &status, sizeof status);
  stream.finish();
  if (status != 0) {
    throw Error("forward: the embedding saw token " + std::to_string(status - 1) +
                " outside the vocabulary");
  }
  cache.set_length(p0 + T);
  return out;
}

}  // namespace

std::vector<float> forward(vk::Context& context, const ModelWeights& weights, KvCache& cache,
                           const ForwardRequest& request) {
  return run_forward(context, weights, cache, request, nullptr);
}

ForwardOutput forward_with_hidden(vk::Context& context, const ModelWeights& weights, KvCache& cache,
                                  const ForwardRequest& request) {
  ForwardOutput out;
  out.logits = run_forward(context, weights, cache, request, &out.final_hidden);
  return out;
}

}  // namespace vkmoe::model
