// Choosing the number of experts K, strategy (b) of issue 9 point 4: sample the posterior of an
// over-fitted model with K-bar >= k* experts under the sparsity prior on the mixing weights
// (BayesPrior::weight_concentration, a Dirichlet(alpha) on softmax(beta0)), then run
// merge-truncate-merge on every draw (merge_truncate_merge.h); the number of atoms left is
// that draw's K, and the estimate is the most frequent one. Strategy (a), a prior on K with
// per-K evidences, is choose_k.h.
#pragma once

#include <cstdint>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/merge_truncate_merge.h"
#include "engine/stats/regression_spec.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct MtmChooseSettings {
  uint32_t k_bar = 4;          // experts of the over-fitted model
  double concentration = 0.1;  // Dirichlet alpha on the weights (< 1: extra atoms empty)
  double merge_scale = 2.0;    // omega_n = merge_scale (log n / n)^(1/4)
  double weight_scale = 0.1;   // truncate below weight_scale omega_n^2
  HmcSettings hmc;
};

struct MtmChoice {
  MtmKPosterior posterior;  // distribution of K over the draws, and its mode
  MtmThresholds thresholds;
};

// One data set: the over-fitted posterior of the spec's expert family and dimension (prior
// `model_prior` with its weight concentration replaced by settings.concentration), then MTM.
MtmChoice choose_k_by_mtm(vk::Context& context, const RegressionSpec& spec, const Dataset& data,
                          const BayesPrior& model_prior, const MtmChooseSettings& settings);

}  // namespace vkmoe::stats
