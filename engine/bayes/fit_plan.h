// What a Bayesian-MoE fit of a model will hold, from its config alone (`vkmoe plan`): the
// down_proj parameters covered, the entries and memory of the low-rank factors, the size of the
// posterior file, and the host memory needed while one expert's factors are merged.
#pragma once

#include <cstdint>
#include <vector>

#include "loaders/model_config.h"

namespace vkmoe::bayes {

struct FitPlan {
  std::vector<std::int64_t> layers;  // the MoE layers treated
  std::int64_t experts_per_layer = 0, experts = 0;
  std::int64_t h = 0, i = 0;            // down_proj out, in
  std::int64_t rank = 0;                // requested r
  std::int64_t rank_g = 0, rank_a = 0;  // min(r, H), min(r, I)
  std::uint64_t params = 0;             // Σ_e H·I
  // Σ_e (H·r_G + I·r_A) eigenvector entries + (r_G + r_A) eigenvalues + 1 count M: the
  // [h, rank], [i, rank] and [2·rank + 1] buffers of ops/posterior_sample.h.
  std::uint64_t factor_entries = 0;
  std::uint64_t factor_bytes = 0;        // as f32
  std::uint64_t file_bytes = 0;          // posterior_file_bytes, one λ for the model
  std::uint64_t expert_dense_bytes = 0;  // (H² + I²) doubles: one expert's dense factors
  // The merge of the larger factor (n = max(H, I)): the dense sum, the eigensolver's working
  // copy and its Householder reflectors, 3·n² doubles, on top of the dense factors.
  std::uint64_t merge_peak_bytes = 0;
  // Device memory of the KFAC accumulation with the default budget (kfac_budget.h): the
  // gathered rows plus one group of experts' f32 Grams, row_bytes + group·(H² + I²)·4. The
  // device's binding limit can make the group smaller.
  std::int64_t gram_group = 0;
  std::uint64_t kfac_device_bytes = 0;
};

// Throws BayesError when the model has no MoE layer or rank < 1.
FitPlan plan_fit(const ModelConfig& config, std::vector<std::int64_t> layers, std::int64_t rank);

}  // namespace vkmoe::bayes
