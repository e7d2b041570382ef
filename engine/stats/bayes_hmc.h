// Posterior sampling for the Bayesian MoE (bayes_model.h) on the GPU: many HMC chains, one
// workgroup each (shaders/stats_hmc.comp), every transition of every chain recorded into one
// command stream and submitted together; the host reads the draws back once at the end.
//
// Warm-up (Stan's schedule, with one metric window): every warm-up transition adapts the step
// size by dual averaging toward `target_accept`; transitions [15%, 90%) of the warm-up also
// estimate each parameter's posterior variance, which becomes the diagonal inverse metric at
// the end of that window (and the averaging restarts); the last warm-up transition fixes the
// step size at its average. With fewer than 20 warm-up transitions only the step size adapts.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/stats/bayes_model.h"
#include "engine/stats/simulate.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct HmcSettings {
  uint32_t chains = 4;
  uint32_t warmup = 500;
  uint32_t draws = 500;
  // L: each transition takes uniform{1, ..., L} leapfrog steps (a fixed trajectory length
  // can resonate with the posterior and leave chains oscillating; see stats_hmc.comp).
  uint32_t leapfrog_steps = 8;
  double initial_step = 0.05;
  double target_accept = 0.8;
  // Dual averaging (Hoffman & Gelman 2014; Stan's defaults).
  double gamma = 0.05;
  double t0 = 10;
  double kappa = 0.75;
  // Free parameters start uniform on [-radius, radius] (Stan's default 2), drawn by chain from
  // the seed; the seed also keys the GPU's random numbers.
  double init_radius = 2.0;
  uint64_t seed = 1;
  // At most this many leapfrog steps per dispatch (0: as many as the driver's loop limit
  // allows). The draws do not depend on it; the tests use it to check exactly that.
  uint32_t max_steps_per_dispatch = 0;
};

struct HmcProblem {
  BayesMoe model;
  const Dataset* data = nullptr;  // not owned
  // Independent data sets (replications) in one run: when not empty, the chains are split into
  // data_sets.size() equal consecutive groups and group g samples the posterior given
  // data_sets[g] (`data` is then unused). Not owned; all of the model's dimension.
  std::vector<const Dataset*> data_sets;
  std::vector<uint8_t> free;  // empty: default_free_mask(model)
  std::vector<double> fixed;  // values of the fixed parameters (layout order); empty: 0
  // Power posteriors: chain c samples L(theta)^t_c prior(theta) (the stored log densities are
  // of that tempered density). Empty: every chain at t = 1; else one t in [0, 1] per chain.
  std::vector<double> temperatures;
};

struct PosteriorDraws {
  uint32_t chains = 0;
  uint32_t draws = 0;
  uint32_t parameters = 0;
  std::vector<double> values;       // chain-major: [chain][draw][parameter]
  std::vector<double> log_density;  // [chain][draw]
  std::vector<double> accept;       // acceptance probability of the transition, [chain][draw]
  std::vector<uint8_t> divergent;   // [chain][draw]
  std::vector<double> step_size;    // per chain, after warm-up
  uint64_t dispatches = 0;

  double value(uint32_t chain, uint32_t draw, uint32_t q) const {
    return values[(size_t{chain} * draws + draw) * parameters + q];
  }
};

// The data set of each chain group: data_sets, or {data}.
std::vector<const Dataset*> chain_data_sets(const HmcProblem& problem);

// The starting points the sampler uses: chains * parameters, chain-major.
std::vector<double> initial_positions(const HmcProblem& problem, const HmcSettings& settings);

PosteriorDraws sample_posterior_gpu(vk::Context& context, const HmcProblem& problem,
                                    const HmcSettings& settings);

// The kernel's log density and gradient at each of `positions` (count * parameters values),
// one chain per position: what the tests compare with the C++ reference.
struct DensityAt {
  std::vector<double> log_density;  // per position
  std::vector<double> gradient;     // positions * parameters
};
DensityAt log_posterior_gpu(vk::Context& context, const HmcProblem& problem,
                            std::span<const double> positions);

}  // namespace vkmoe::stats
