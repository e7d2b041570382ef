// A least-squares study: for every sample size and replication, simulate a data set, fit k
// experts from every start (all problems in one GPU batch), keep the start with the smallest
// objective and measure it against the truth (Voronoi loss, L2 function error).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/stats/lse_batch.h"
#include "engine/stats/regression_spec.h"
#include "engine/stats/voronoi_loss.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct LseExperimentConfig {
  RegressionSpec spec;
  uint32_t experts = 0;  // k >= k*; 0 means k*
  std::vector<uint32_t> sample_sizes;
  uint32_t replications = 1;
  bool near_truth_start = true;
  double near_truth_jitter = 0.1;
  uint32_t random_starts = 1;
  uint64_t seed = 1;
  LseOptimiser optimiser;
  uint32_t error_points = 4096;  // Monte Carlo points for the L2 function error
};

struct LseFitRecord {
  uint32_t samples = 0;
  uint32_t replication = 0;
  uint32_t best_start = 0;  // 0 is the near-truth start when there is one
  double objective = 0;
  MoeModel fitted;
  VoronoiLoss loss;
  double function_error = 0;
};

// The problems of a study as one batch; `datasets` receives the simulated data (it must outlive
// the batch). Problem order: sample size, then replication, then start.
LseBatch build_experiment_batch(const LseExperimentConfig& config, std::vector<Dataset>& datasets);

// Picks the best start of every (sample size, replication) and measures it.
std::vector<LseFitRecord> summarise_experiment(const LseExperimentConfig& config,
                                               const LseBatchResult& result);

// build -> fit_batch_gpu -> summarise.
std::vector<LseFitRecord> run_lse_experiment(vk::Context& context,
                                             const LseExperimentConfig& config);

uint32_t starts_per_problem(const LseExperimentConfig& config);

}  // namespace vkmoe::stats
