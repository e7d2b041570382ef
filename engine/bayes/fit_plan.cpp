#include "engine/bayes/fit_plan.h"

#include <algorithm>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/kfac_budget.h"
#include "engine/bayes/posterior_file.h"

namespace vkmoe::bayes {

FitPlan plan_fit(const ModelConfig& config, std::vector<std::int64_t> layers, std::int64_t rank) {
  if (rank < 1) throw BayesError("--rank " + std::to_string(rank) + ": expected at least 1");
  if (config.num_moe_layers() == 0 || layers.empty()) {
    throw BayesError("plan: the model has no MoE layer to treat");
  }
  FitPlan p;
  p.layers = std::move(layers);
  p.experts_per_layer = config.num_experts;
  p.experts = p.experts_per_layer * static_cast<std::int64_t>(p.layers.size());
  p.h = config.hidden_size;
  p.i = config.moe_intermediate_size;
  p.rank = rank;
  p.rank_g = std::min(rank, p.h);
  p.rank_a = std::min(rank, p.i);
  const auto e = static_cast<std::uint64_t>(p.experts);
  const auto h = static_cast<std::uint64_t>(p.h), in = static_cast<std::uint64_t>(p.i);
  const auto rg = static_cast<std::uint64_t>(p.rank_g), ra = static_cast<std::uint64_t>(p.rank_a);
  p.params = e * h * in;
  p.factor_entries = e * (h * rg + in * ra + rg + ra + 1);
  p.factor_bytes = p.factor_entries * sizeof(float);
  p.file_bytes = posterior_file_bytes(
      {p.layers, p.experts_per_layer, p.h, p.i, rank, false, FisherType::kExact, PriorMean::kZero});
  p.expert_dense_bytes = (h * h + in * in) * sizeof(double);
  const std::uint64_t n = std::max(h, in);
  p.merge_peak_bytes = p.expert_dense_bytes + 3 * n * n * sizeof(double);
  const KfacBudget budget;
  p.gram_group = kfac_gram_group(budget, p.h, p.i, p.experts_per_layer);
  p.kfac_device_bytes = budget.row_bytes + static_cast<std::uint64_t>(p.gram_group) *
                                               (h * h + in * in) * sizeof(float);
  return p;
}

}  // namespace vkmoe::bayes
