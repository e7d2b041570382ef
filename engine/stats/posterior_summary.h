// Per-parameter summaries of (relabelled) posterior draws: mean, sd, 5% and 95% quantiles,
// R-hat and bulk ESS (mcmc_diagnostics.h). Fixed parameters are left out; log sigma^2 is
// reported as sigma = exp(v / 2) (rank-based R-hat and ESS do not change under the monotone
// map; mean, sd and quantiles are those of sigma).
#pragma once

#include <string>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/bayes_model.h"

namespace vkmoe::stats {

struct ParameterSummary {
  std::string name;
  uint32_t index = 0;  // in the flat layout
  double mean = 0, sd = 0, q05 = 0, q95 = 0;
  double rhat = 0, ess_bulk = 0;
};

std::vector<ParameterSummary> summarise_draws(const BayesMoe& model, const PosteriorDraws& draws,
                                              const std::vector<uint8_t>& free);

// One parameter's draws, chain-major (what the diagnostics take).
std::vector<double> parameter_draws(const PosteriorDraws& draws, uint32_t q);

// Linear-interpolation quantile (numpy's default, R's type 7) of unsorted values.
double quantile(std::vector<double> values, double probability);

}  // namespace vkmoe::stats
