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
#include "engine/vk/memory.h"

namespace vkmoe::bayes {

namespace {

constexpr std::uint64_t kF32 = sizeof(float);
// Row buffers are whole multiples of this: the g rows then start 16-byte aligned from the end.
constexpr std::uint64_t kRowAlignment = 256;

}  // namespace

KfacAccumulator::KfacAccumulator(vk::Context& context, const model::ModelWeights& weights,
                                 std::vector<std::int64_t> layers, std::int64_t rank,
                                 KfacBudget budget)
    : context_(context),
      weights_(weights),
      stream_(context),
      layers_(std::move(layers)),
      budget_(budget) {
  const ModelConfig& config = weights.config;
  h_ = config.hidden_size;
  i_ = config.moe_intermediate_size;
  experts_ = config.num_experts;
  if (rank < 1) throw BayesError("KfacAccumulator: rank " + std::to_string(rank) + " < 1");
  for (std::int64_t l : layers_) {
    if (l < 0 || l >= config.num_layers || !config.is_moe(l)) {
      throw BayesError("KfacAccumulator: layer " + std::to_string(l) + " is not a MoE layer");
    }
    std::vector<ExpertFactorStream> layer_streams;
    for (std::int64_t e = 0; e < experts_; ++e) layer_streams.emplace_back(h_, i_, rank);
    streams_.push_back(std::move(layer_streams));
    lists_.emplace_back(experts_);
  }
  if (layers_.empty()) return;
  const auto h = static_cast<std::uint64_t>(h_), in = static_cast<std::uint64_t>(i_);
  const std::uint64_t room =
      context.max_binding_range() -
      std::max<std::uint64_t>(1, context.info().min_storage_buffer_offset_alignment);
  group_ = kfac_gram_group(budget_, h_, i_, experts_, room);
  const auto group = static_cast<std::uint64_t>(group_);
  model::require_device_memory(
      context, group * (h * h + in * in) * kF32,
      "the KFAC Gram matrices of one group of experts (" + std::to_string(group_) +
          " × (H² + I²) f32, from the Gram budget of " + vk::format_size(budget_.gram_bytes) + ")");
  a_gram_ = context.create_buffer(group * in * in * kF32, "kfac.gram.a");
  g_gram_ = context.create_buffer(group * h * h * kF32, "kfac.gram.g");
  layer_bytes_ = std::min(budget_.row_bytes / layers_.size(), room) / kRowAlignment * kRowAlignment;
  allocate_rows(std::max(layer_bytes_, kRowAlignment));
}

void KfacAccumulator::allocate_rows(std::uint64_t bytes) {
  const auto h = static_cast<std::uint64_t>(h_), in = static_cast<std::uint64_t>(i_);
  // The lists of a group are at most every row of the buffer, plus the offsets.
  const std::uint64_t a_list_bytes = (bytes / (in * kF32) + group_ + 1) * sizeof(uint32_t);
  const std::uint64_t g_list_bytes = (bytes / (h * kF32) + group_ + 1) * sizeof(uint32_t);
  for (vk::Buffer& b : rows_) b = {};  // what a larger allocation replaces is not counted twice
  a_lists_ = {};
  g_lists_ = {};
  model::require_device_memory(
      context_, layers_.size() * bytes + a_list_bytes + g_list_bytes,
      "the KFAC rows gathered between merges (" + std::to_string(layers_.size()) + " layers × " +
          vk::format_size(bytes) + " of a and g rows, from the row budget of " +
          vk::format_size(budget_.row_bytes) + ") and their expert lists");
  rows_.resize(layers_.size());
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    rows_[t] = context_.create_buffer(bytes, "kfac.rows." + std::to_string(layers_[t]));
  }
  a_lists_ = context_.create_buffer(a_list_bytes, "kfac.lists.a");
  g_lists_ = context_.create_buffer(g_list_bytes, "kfac.lists.g");
  row_capacity_ = bytes;
}

void KfacAccumulator::make_room(uint32_t entries, uint32_t passes) {
  const auto h = static_cast<std::uint64_t>(h_), in = static_cast<std::uint64_t>(i_);
  const std::uint64_t used = a_used_ * in * kF32 + g_used_ * h * kF32;
  const std::uint64_t need = entries * (in + passes * h) * kF32;
  if (used > 0 && used + need > layer_bytes_) fold();
  if (a_used_ > 0 || need <= row_capacity_) return;
  // One example larger than the share: a buffer of its own size, each factor one binding.
  const std::uint64_t room =
      context_.max_binding_range() -
      std::max<std::uint64_t>(1, context_.info().min_storage_buffer_offset_alignment);
  if (entries * in * kF32 > room || entries * passes * h * kF32 > room) {
    throw BayesError("KfacAccumulator: one example's " + std::to_string(entries) +
                     " routing entries × " + std::to_string(passes) +
                     " passes of rows are more than one binding holds");
  }
  allocate_rows((need + kRowAlignment - 1) / kRowAlignment * kRowAlignment);
}

double KfacAccumulator::add_example(const model::SavedForward& forward, const KfacExample& example,
                                    FisherType fisher, std::uint64_t seed) {
  std::vector<float> label_logits;
  for (uint32_t token : example.answers) label_logits.push_back(forward.last_logits().at(token));
  const std::vector<double> p = label_probabilities(label_logits);
  const std::vector<std::vector<float>> passes =
      fisher_targets(fisher, p, example.label, seed, example.index);
  const auto pass_count = static_cast<uint32_t>(passes.size());
  const uint32_t tokens = forward.tokens();
  const auto entries = static_cast<uint32_t>(tokens * weights_.config.experts_per_token);
  make_room(entries, pass_count);

  const auto h = static_cast<VkDeviceSize>(h_), in = static_cast<VkDeviceSize>(i_);
  const VkDeviceSize a_bytes = entries * in * kF32, g_bytes = entries * h * kF32;
  // This example's g block lies g_top rows before the end of each row buffer.
  const uint32_t g_top = g_used_ + pass_count * entries;
  const VkDeviceSize g_block = row_capacity_ - g_top * h * kF32;
  // Routing does not depend on the targets: the lists of the first pass serve every pass.
  std::vector<std::vector<uint32_t>> counts(layers_.size()), lists(layers_.size());
  for (std::size_t pass = 0; pass < passes.size(); ++pass) {
    const model::ActivationGradients grads =
        model::backward(context_, weights_, forward, {example.answers, passes[pass]});
    std::size_t t = 0;
    for (const model::MoeLayerActivations& m : grads.moe_layers()) {
      while (t < layers_.size() && layers_[t] < m.layer) ++t;
      if (t == layers_.size()) break;
      if (layers_[t] != m.layer) continue;
      if (m.entries != entries) {
        throw BayesError("KfacAccumulator: layer " + std::to_string(m.layer) + " has " +
                         std::to_string(m.entries) + " routing entries, expected " +
                         std::to_string(entries));
      }
      if (pass == 0) {
        counts[t].resize(static_cast<std::size_t>(experts_));
        lists[t].resize(static_cast<std::size_t>(experts_) * tokens);
        stream_.download(m.counts, counts[t].data(), counts[t].size() * sizeof(uint32_t));
        stream_.download(m.lists, lists[t].data(), lists[t].size() * sizeof(uint32_t));
        stream_.copy(m.a.sub(0, a_bytes), rows_[t].span(a_used_ * in * kF32, a_bytes));
      }
      stream_.copy(m.g.sub(0, g_bytes), rows_[t].span(g_block + pass * g_bytes, g_bytes));
    }
    stream_.finish();  // before grads (the g buffers) goes
  }
  // moe_router fills each expert's list with an atomic counter, so the order of its rows — and
  // with it the f32 rounding of a Gram sum — changes from run to run. Sorted, a merge sums in
  // example order, then token order, and a resumed fit reproduces an uninterrupted one.
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    for (std::size_t e = 0; e < counts[t].size(); ++e) {
      const auto begin = lists[t].begin() + static_cast<std::ptrdiff_t>(e * tokens);
      std::sort(begin, begin + counts[t][e]);
    }
    lists_[t].add({.counts = counts[t],
                   .lists = lists[t],
                   .stride = tokens,
                   .entries = entries,
                   .passes = pass_count,
                   .a_first = a_used_,
                   .g_top = g_top});
  }
  a_used_ += entries;
  g_used_ = g_top;
  return std::log(p[static_cast<std::size_t>(example.label)]);
}

void KfacAccumulator::record_group(std::size_t t, std::span<const std::int64_t> experts,
                                   KfacFactor factor) {
  const bool is_a = factor == KfacFactor::kA;
  const uint32_t used = is_a ? a_used_ : g_used_;
  std::vector<uint32_t> list{0};  // offsets [group + 1], then the rows
  uint32_t longest = 0;
  for (std::int64_t e : experts) {
    const std::vector<uint32_t>& rows = lists_[t].rows(factor, e);
    list.push_back(list.back() + static_cast<uint32_t>(rows.size()));
    longest = std::max(longest, static_cast<uint32_t>(rows.size()));
  }
  const uint32_t listed = list.back();
  for (std::int64_t e : experts) {
    for (uint32_t r : lists_[t].rows(factor, e)) list.push_back(is_a ? r : used - r);
  }
  vk::Buffer& buffer = is_a ? a_lists_ : g_lists_;
  const VkDeviceSize list_bytes = list.size() * sizeof(uint32_t);
  const VkDeviceSize offsets_bytes = (experts.size() + 1) * sizeof(uint32_t);
  stream_.upload(buffer.span(0, list_bytes), list.data(), list_bytes);
  const auto n = static_cast<VkDeviceSize>(is_a ? i_ : h_);
  const VkDeviceSize x_bytes = used * n * kF32;
  // a rows from the start of the row buffer, g rows up to its end.
  const VkDeviceSize x_first = is_a ? 0 : row_capacity_ - x_bytes;
  ops::expert_gram(stream_, {.x = rows_[t].span(x_first, x_bytes),
                             .offsets = buffer.span(0, offsets_bytes),
                             .rows = buffer.span(offsets_bytes, list_bytes - offsets_bytes),
                             .gram = (is_a ? a_gram_ : g_gram_).span(),
                             .experts = static_cast<uint32_t>(experts.size()),
                             .n = static_cast<uint32_t>(n),
                             .x_rows = used,
                             .listed = listed,
                             .longest = longest});
}

void KfacAccumulator::merge_group(std::size_t t, std::span<const std::int64_t> experts) {
  record_group(t, experts, KfacFactor::kA);
  record_group(t, experts, KfacFactor::kG);
  const auto hh = static_cast<std::size_t>(h_ * h_), ii = static_cast<std::size_t>(i_ * i_);
  std::vector<float> g(experts.size() * hh), a(experts.size() * ii);
  stream_.download(g_gram_.span(0, g.size() * sizeof(float)), g.data(), g.size() * sizeof(float));
  stream_.download(a_gram_.span(0, a.size() * sizeof(float)), a.data(), a.size() * sizeof(float));
  stream_.finish();
  for (std::size_t k = 0; k < experts.size(); ++k) {
    const std::int64_t e = experts[k];
    streams_[t][static_cast<std::size_t>(e)].add_chunk(
        std::span(g).subspan(k * hh, hh), std::span(a).subspan(k * ii, ii), lists_[t].tokens(e));
  }
}

void KfacAccumulator::fold() {
  if (a_used_ == 0) return;
  for (std::size_t t = 0; t < layers_.size(); ++t) {
    std::vector<std::int64_t> reached;  // the experts with rows, in groups of group_
    for (std::int64_t e = 0; e < experts_; ++e) {
      if (lists_[t].tokens(e) > 0) reached.push_back(e);
    }
    for (std::size_t first = 0; first < reached.size(); first += static_cast<std::size_t>(group_)) {
      const std::size_t count = std::min(static_cast<std::size_t>(group_), reached.size() - first);
      merge_group(t, std::span(reached).subspan(first, count));
    }
    lists_[t].clear();
  }
  a_used_ = 0;
  g_used_ = 0;
  ++merges_;
}

}  // namespace vkmoe::bayes
