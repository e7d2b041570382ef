#include "engine/bayes/kfac.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/fisher_targets.h"
#include "engine/model/backward.h"
#include "engine/model/device_memory.h"
#include "engine/ops/expert_gram.h"

namespace vkmoe::bayes {

KfacAccumulator::KfacAccumulator(vk::Context& context, const model::ModelWeights& weights,
                                 std::vector<std::int64_t> layers, std::int64_t rank)
    : context_(context), weights_(weights), stream_(context), layers_(std::move(layers)) {
  const ModelConfig& config = weights.config;
  h_ = config.hidden_size;
  i_ = config.moe_intermediate_size;
  experts_ = config.num_experts;
  if (rank < 1) throw BayesError("KfacAccumulator: rank " + std::to_string(rank) + " < 1");
  // Refused with the numbers before anything is allocated (e.g. all of Qwen1.5-MoE-A2.7B's
  // 1440 experts: about 35 GB beside the weights).
  const auto chunk_bytes = static_cast<std::uint64_t>(layers_.size()) *
                           static_cast<std::uint64_t>(experts_) *
                           static_cast<std::uint64_t>(h_ * h_ + i_ * i_) * 4;
  model::require_device_memory(context, chunk_bytes,
                               "the KFAC chunks (" + std::to_string(layers_.size()) + " layers × " +
                                   std::to_string(experts_) +
                                   " experts × (H² + I²) f32; fewer --layers need less)");
  // As many experts per part as one binding holds of the larger factor.
  const auto matrix_bytes = static_cast<std::uint64_t>(std::max(h_, i_) * std::max(h_, i_)) * 4;
  const std::uint64_t room =
      context.max_binding_range() -
      std::max<std::uint64_t>(1, context.info().min_storage_buffer_offset_alignment);
  experts_per_part_ = static_cast<uint32_t>(
      std::clamp<std::uint64_t>(room / matrix_bytes, 1, static_cast<std::uint64_t>(experts_)));
  for (std::int64_t l : layers_) {
    if (l < 0 || l >= config.num_layers || !config.is_moe(l)) {
      throw BayesError("KfacAccumulator: layer " + std::to_string(l) + " is not a MoE layer");
    }
    std::vector<ExpertFactorStream> layer_streams;
    Chunk c;
    for (std::int64_t e = 0; e < experts_; ++e) layer_streams.emplace_back(h_, i_, rank);
    for (std::int64_t first = 0; first < experts_; first += experts_per_part_) {
      const std::int64_t count = std::min<std::int64_t>(experts_per_part_, experts_ - first);
      const std::string name = "kfac." + std::to_string(l) + "." + std::to_string(first);
      c.g_parts.push_back(
          context.create_buffer(static_cast<VkDeviceSize>(count * h_ * h_) * 4, name + ".g"));
      c.a_parts.push_back(
          context.create_buffer(static_cast<VkDeviceSize>(count * i_ * i_) * 4, name + ".a"));
    }
    c.tokens.assign(static_cast<std::size_t>(experts_), 0);
    streams_.push_back(std::move(layer_streams));
    lists_.emplace_back();
    g_passes_.emplace_back();
    chunks_.push_back(std::move(c));
  }
}

vk::BufferSpan KfacAccumulator::gram_of(const std::vector<vk::Buffer>& parts, std::int64_t e,
                                        std::int64_t n) const {
  const auto bytes = static_cast<VkDeviceSize>(n * n) * 4;
  return parts[static_cast<std::size_t>(e / experts_per_part_)].span(
      static_cast<VkDeviceSize>(e % experts_per_part_) * bytes, bytes);
}

void KfacAccumulator::record_grams(std::size_t t, const model::MoeLayerActivations& m,
                                   vk::BufferSpan x, std::int64_t n, uint32_t passes,
                                   std::vector<vk::Buffer>& parts, uint32_t tokens) {
  for (std::size_t part = 0; part < parts.size(); ++part) {
    ops::expert_gram(
        stream_,
        {.x = x,
         .counts = m.counts,
         .lists = lists_[t].span(),
         .gram = parts[part].span(),
         .expert_first = static_cast<uint32_t>(part * experts_per_part_),
         .expert_count = static_cast<uint32_t>(std::min<std::int64_t>(
             experts_per_part_, experts_ - static_cast<std::int64_t>(part * experts_per_part_))),
         .experts = static_cast<uint32_t>(experts_),
         .n = static_cast<uint32_t>(n),
         .tokens = tokens,
         .rows = m.entries,
         .passes = passes,
         .accumulate = chunks_[t].written});
  }
}

// moe_router fills each expert's list with an atomic counter, so the order of its rows — and
// with it the f32 rounding of a Gram sum — changes from run to run. The lists are read back,
// sorted and put in a buffer of our own, so a chunk is summed in token order and a resumed fit
// reproduces an uninterrupted one bit for bit.
void KfacAccumulator::sort_lists(std::size_t t, const model::MoeLayerActivations& m,
                                 uint32_t tokens, std::vector<uint32_t>& counts) {
  std::vector<uint32_t> lists(static_cast<std::size_t>(experts_) * tokens);
  stream_.download(m.counts, counts.data(), counts.size() * sizeof(uint32_t));
  stream_.download(m.lists, lists.data(), lists.size() * sizeof(uint32_t));
  stream_.finish();
  for (std::size_t e = 0; e < counts.size(); ++e) {
    const auto begin = lists.begin() + static_cast<std::ptrdiff_t>(e * tokens);
    std::sort(begin, begin + counts[e]);
  }
  const VkDeviceSize bytes = lists.size() * sizeof(uint32_t);
  if (!lists_[t].valid() || lists_[t].size() < bytes) {
    lists_[t] = context_.create_buffer(bytes, "kfac.lists." + std::to_string(layers_[t]));
  }
  stream_.upload(lists_[t].span(0, bytes), lists.data(), bytes);
}

double KfacAccumulator::add_example(const model::SavedForward& forward, const KfacExample& example,
                                    FisherType fisher, std::uint64_t seed) {
  std::vector<float> label_logits;
  for (uint32_t token : example.answers) label_logits.push_back(forward.last_logits().at(token));
  const std::vector<double> p = label_probabilities(label_logits);
  const std::vector<std::vector<float>> passes =
      fisher_targets(fisher, p, example.label, seed, example.index);

  // Routing does not depend on the targets: the counts of the first pass serve every pass.
  std::vector<std::vector<uint32_t>> counts(
      layers_.size(), std::vector<uint32_t>(static_cast<std::size_t>(experts_)));
  const auto pass_count = static_cast<uint32_t>(passes.size());
  std::vector<model::MoeLayerActivations> treated(layers_.size());
  for (std::size_t pass = 0; pass < passes.size(); ++pass) {
    const model::ActivationGradients grads =
        model::backward(context_, weights_, forward, {example.answers, passes[pass]});
    std::size_t t = 0;
    for (const model::MoeLayerActivations& m : grads.moe_layers()) {
      while (t < layers_.size() && layers_[t] < m.layer) ++t;
      if (t == layers_.size()) break;
      if (layers_[t] != m.layer) continue;
      const VkDeviceSize g_bytes = static_cast<VkDeviceSize>(m.entries * h_) * 4;
      if (pass == 0) {
        sort_lists(t, m, forward.tokens(), counts[t]);
        treated[t] = m;  // a and the routing views point into `forward`, which outlives this
        if (!g_passes_[t].valid() || g_passes_[t].size() < g_bytes * pass_count) {
          g_passes_[t] =
              context_.create_buffer(g_bytes * pass_count, "kfac.g." + std::to_string(layers_[t]));
        }
        record_grams(t, m, m.a, i_, 1, chunks_[t].a_parts, forward.tokens());
      }
      stream_.copy(m.g.sub(0, g_bytes), g_passes_[t].span(g_bytes * pass, g_bytes));
    }
    stream_.finish();  // before grads (the g buffers) goes
  }
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    const model::MoeLayerActivations& m = treated[t];
    const auto x_bytes = static_cast<VkDeviceSize>(m.entries * h_) * 4 * pass_count;
    record_grams(t, m, g_passes_[t].span(0, x_bytes), h_, pass_count, chunks_[t].g_parts,
                 forward.tokens());
    chunks_[t].written = true;
    for (std::size_t e = 0; e < counts[t].size(); ++e) chunks_[t].tokens[e] += counts[t][e];
  }
  stream_.finish();
  pending_ = true;
  return std::log(p[static_cast<std::size_t>(example.label)]);
}

void KfacAccumulator::fold() {
  std::vector<float> g(static_cast<std::size_t>(h_ * h_)), a(static_cast<std::size_t>(i_ * i_));
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    Chunk& c = chunks_[t];
    for (std::int64_t e = 0; e < experts_; ++e) {
      std::int64_t& tokens = c.tokens[static_cast<std::size_t>(e)];
      if (tokens == 0) continue;
      stream_.download(gram_of(c.g_parts, e, h_), g.data(), g.size() * sizeof(float));
      stream_.download(gram_of(c.a_parts, e, i_), a.data(), a.size() * sizeof(float));
      stream_.finish();
      streams_[t][static_cast<std::size_t>(e)].add_chunk(g, a, tokens);
      tokens = 0;
    }
    c.written = false;
  }
  pending_ = false;
}

}  // namespace vkmoe::bayes
