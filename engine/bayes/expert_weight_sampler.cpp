#include "engine/bayes/expert_weight_sampler.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/sampler_layout.h"
#include "engine/ops/posterior_sample.h"
#include "engine/vk/stream.h"

namespace vkmoe::bayes {

namespace {

vk::Buffer copy_of(vk::Context& context, vk::Stream& stream, const vk::Buffer& source,
                   const char* name) {
  const auto bytes = static_cast<std::size_t>(source.span().size);
  std::vector<std::byte> host(bytes);
  stream.download(source.span(), host.data(), bytes);
  stream.finish();
  vk::Buffer copy = context.create_buffer(bytes, name);
  stream.upload(copy.span(), host.data(), bytes);
  return copy;
}

template <typename T>
vk::Buffer put(vk::Context& context, vk::Stream& stream, const std::vector<T>& data,
               const char* name) {
  vk::Buffer b = context.create_buffer(data.size() * sizeof(T), name);
  stream.upload(b.span(), data.data(), data.size() * sizeof(T));
  return b;
}

}  // namespace

ExpertWeightSampler::ExpertWeightSampler(vk::Context& context, model::ModelWeights& weights,
                                         const Posterior& posterior,
                                         std::optional<double> prior_precision, std::uint64_t seed)
    : context_(context), seed_(seed), temperature_(static_cast<float>(posterior.temperature)) {
  vk::Stream stream(context);
  for (std::size_t t = 0; t < posterior.layers.size(); ++t) {
    const LayerPosterior& lp = posterior.layers[t];
    const auto index = static_cast<std::size_t>(lp.layer);
    if (lp.layer < 0 || index >= weights.layers.size() || !weights.layers[index].moe) {
      throw BayesError("the posterior treats layer " + std::to_string(lp.layer) +
                       ", which is not a MoE layer of this model");
    }
    model::DeviceMatrix& down = weights.layers[index].experts_down;
    if (!down.more_parts.empty()) {
      throw BayesError("layer " + std::to_string(lp.layer) +
                       ": experts' down_proj split across allocations; the sampled predictive "
                       "needs it in one");
    }
    if (lp.experts.size() != down.experts || lp.experts.empty() ||
        lp.experts.front().h() != down.rows || lp.experts.front().i() != down.cols) {
      throw BayesError("layer " + std::to_string(lp.layer) +
                       ": the posterior's experts do not match the model's down_proj");
    }
    std::int64_t rank = 1;
    for (const KronExpertFactors& f : lp.experts) {
      rank = std::max({rank, f.g.count(), f.a.count()});
    }
    const SamplerBuffers b = pack_for_sampler(lp.experts, rank);
    Layer l;
    l.down = &down;
    l.rank = static_cast<std::uint32_t>(rank);
    l.stream_id = static_cast<std::uint32_t>(t);
    const double lambda = prior_precision                         ? *prior_precision
                          : posterior.prior_precision.size() == 1 ? posterior.prior_precision[0]
                                                                  : posterior.prior_precision.at(t);
    l.lambda = static_cast<float>(lambda);
    l.q_g = put(context, stream, b.q_g, "sampler q_g");
    l.q_a = put(context, stream, b.q_a, "sampler q_a");
    l.spectra = put(context, stream, b.spectra, "sampler spectra");
    l.work = context.create_buffer(b.q_g.size() * sizeof(float), "sampler work");
    l.core = context.create_buffer(
        static_cast<std::size_t>(b.experts * rank * rank) * sizeof(float), "sampler core");
    l.map_type = down.type;
    l.w_map =
        ops::dtype_is_quantized(down.type)
            ? context.create_buffer(
                  ops::dtype_matrix_bytes(ops::sample_type(down.type),
                                          uint64_t{down.experts} * down.rows, down.cols, down.cols),
                  "down_proj sample")
            : copy_of(context, stream, down.buffer, "down_proj MAP");
    layers_.push_back(std::move(l));
  }
  stream.finish();
}

ExpertWeightSampler::~ExpertWeightSampler() {
  try {
    restore();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor must not throw
  }
}

void ExpertWeightSampler::draw(std::uint32_t draw) {
  vk::Stream stream(context_);
  for (Layer& l : layers_) {
    if (ops::dtype_is_quantized(l.map_type) && !sampled_) {  // down_proj to the f16 stack
      std::swap(l.down->buffer, l.w_map);
      l.down->type = ops::sample_type(l.map_type);
    }
  }
  sampled_ = true;
  for (Layer& l : layers_) {
    ops::sample_posterior(stream, {.q_g = l.q_g.span(),
                                   .q_a = l.q_a.span(),
                                   .spectra = l.spectra.span(),
                                   .work = l.work.span(),
                                   .core = l.core.span(),
                                   .w_map = l.w_map.span(),
                                   .w_out = l.down->buffer.span(),
                                   .w_type = l.map_type,
                                   .experts = l.down->experts,
                                   .h = l.down->rows,
                                   .i = l.down->cols,
                                   .rank = l.rank,
                                   .seed = seed_,
                                   .stream_id = l.stream_id,
                                   .draw = draw,
                                   .lambda = l.lambda,
                                   .temperature = temperature_});
  }
  stream.finish();
}

void ExpertWeightSampler::restore() {
  if (!sampled_) return;
  vk::Stream stream(context_);
  for (Layer& l : layers_) {
    if (ops::dtype_is_quantized(l.map_type)) {  // back to the untouched quantised stack
      std::swap(l.down->buffer, l.w_map);
      l.down->type = l.map_type;
      continue;
    }
    const auto bytes = static_cast<std::size_t>(l.w_map.span().size);
    std::vector<std::byte> host(bytes);
    stream.download(l.w_map.span(), host.data(), bytes);
    stream.finish();
    stream.upload(l.down->buffer.span(), host.data(), bytes);
  }
  stream.finish();
  sampled_ = false;
}

}  // namespace vkmoe::bayes
