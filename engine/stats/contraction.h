// Posterior contraction for the Bayesian MoE (issue 9, point 3): for each sample size n and
// replication r, simulate n samples of the spec's Gaussian mixture (simulate_mixture), sample the
// posterior of a k-expert model with HMC on the GPU, and measure
//   - the posterior mean Hellinger distance E[h(p_theta, p*) | data] between the fitted and true
//     conditional densities (hellinger.h: quadrature over y, average over design points x),
//   - the posterior mean Voronoi loss E[D(G_theta, G*) | data] of the regression atoms
//     (voronoi_loss.h; the variances are not atoms of the mixing measure there).
// All replications of one n run in one GPU stream: `chains` chains per replication, each
// group on its own data set (HmcProblem::data_sets). Both measures are invariant under
// permutations of the atoms, so no relabelling is needed.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/rate_study.h"
#include "engine/stats/regression_spec.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct ContractionConfig {
  RegressionSpec spec;
  uint32_t experts = 0;  // 0: the spec's k*
  BayesPrior prior;
  std::vector<uint32_t> sample_sizes;
  uint32_t replications = 4;
  uint32_t chains = 2;  // per replication
  HmcSettings hmc;      // its chain count is chains * replications; its seed keys everything
  uint32_t design_points = 200;  // x points of the Hellinger average (uniform on the box)
  // Draws per replication (evenly thinned over all chains) the Hellinger mean uses: each one
  // costs design_points quadratures. The Voronoi mean uses every draw.
  uint32_t hellinger_draws = 100;
};

struct ContractionRecord {
  uint32_t samples = 0;
  uint32_t replication = 0;
  double hellinger = 0;  // posterior mean
  double voronoi = 0;    // posterior mean
  double accept = 0;     // mean acceptance probability of the replication's draws
  uint64_t divergent = 0;
  double seconds = 0;  // of the GPU run of this n (shared by its replications)
};

std::vector<ContractionRecord> run_contraction(vk::Context& context,
                                               const ContractionConfig& config);

// "hellinger" and "voronoi_loss" rate series (mean and median over replications, slopes).
std::vector<RateSeries> contraction_series(const std::vector<ContractionRecord>& records,
                                           ExpertFamily family, bool overfitted);

// One row per (n, replication), written atomically.
void write_contraction_csv(const std::filesystem::path& path,
                           const std::vector<ContractionRecord>& records);

}  // namespace vkmoe::stats
