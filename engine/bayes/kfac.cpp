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
  for (std::int64_t l : layers_) {
    if (l < 0 || l >= config.num_layers || !config.is_moe(l)) {
      throw BayesError("KfacAccumulator: layer " + std::to_string(l) + " is not a MoE layer");
    }
    std::vector<ExpertFactorStream> layer_streams;
    std::vector<Chunk> layer_chunks;
    for (std::int64_t e = 0; e < experts_; ++e) {
      layer_streams.emplace_back(h_, i_, rank);
      const std::string name = "kfac." + std::to_string(l) + "." + std::to_string(e);
      Chunk c;
      c.gram_g = context.create_buffer(static_cast<VkDeviceSize>(h_ * h_) * 4, name + ".g");
      c.gram_a = context.create_buffer(static_cast<VkDeviceSize>(i_ * i_) * 4, name + ".a");
      layer_chunks.push_back(std::move(c));
    }
    streams_.push_back(std::move(layer_streams));
    lists_.emplace_back();
    chunks_.push_back(std::move(layer_chunks));
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
  for (std::size_t pass = 0; pass < passes.size(); ++pass) {
    const model::ActivationGradients grads =
        model::backward(context_, weights_, forward, {example.answers, passes[pass]});
    std::size_t t = 0;
    for (const model::MoeLayerActivations& m : grads.moe_layers()) {
      while (t < layers_.size() && layers_[t] < m.layer) ++t;
      if (t == layers_.size()) break;
      if (layers_[t] != m.layer) continue;
      if (pass == 0) sort_lists(t, m, forward.tokens(), counts[t]);
      for (std::int64_t e = 0; e < experts_; ++e) {
        const uint32_t rows = counts[t][static_cast<std::size_t>(e)];
        if (rows == 0) continue;
        Chunk& c = chunks_[t][static_cast<std::size_t>(e)];
        ops::ExpertGramArgs args;
        args.counts = m.counts;
        args.lists = lists_[t].span();
        args.expert = static_cast<uint32_t>(e);
        args.experts = static_cast<uint32_t>(experts_);
        args.tokens = forward.tokens();
        args.rows = m.entries;
        args.x = m.g;
        args.gram = c.gram_g.span();
        args.n = static_cast<uint32_t>(h_);
        args.accumulate = c.g_written;
        ops::expert_gram(stream_, args);
        c.g_written = true;
        if (pass == 0) {
          args.x = m.a;
          args.gram = c.gram_a.span();
          args.n = static_cast<uint32_t>(i_);
          args.accumulate = c.tokens != 0;
          ops::expert_gram(stream_, args);
          c.tokens += rows;
        }
      }
    }
    stream_.finish();  // before grads (the g buffers) goes
  }
  pending_ = true;
  return std::log(p[static_cast<std::size_t>(example.label)]);
}

void KfacAccumulator::fold() {
  std::vector<float> g(static_cast<std::size_t>(h_ * h_)), a(static_cast<std::size_t>(i_ * i_));
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    for (std::size_t e = 0; e < chunks_[t].size(); ++e) {
      Chunk& c = chunks_[t][e];
      if (c.tokens == 0) continue;
      stream_.download(c.gram_g.span(), g.data(), g.size() * sizeof(float));
      stream_.download(c.gram_a.span(), a.data(), a.size() * sizeof(float));
      stream_.finish();
      streams_[t][e].add_chunk(g, a, c.tokens);
      c.tokens = 0;
      c.g_written = false;
    }
  }
  pending_ = false;
}

}  // namespace vkmoe::bayes
