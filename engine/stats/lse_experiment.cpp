#include "engine/stats/lse_experiment.h"

#include <cmath>
#include <limits>

#include "engine/stats/lse_gpu.h"
#include "engine/stats/lse_starts.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

namespace {

uint32_t fitted_experts(const LseExperimentConfig& config) {
  return config.experts == 0 ? config.spec.truth.experts() : config.experts;
}

}  // namespace

uint32_t starts_per_problem(const LseExperimentConfig& config) {
  return (config.near_truth_start ? 1u : 0u) + config.random_starts;
}

LseBatch build_experiment_batch(const LseExperimentConfig& config, std::vector<Dataset>& datasets) {
  const MoeModel& truth = config.spec.truth;
  const uint32_t k = fitted_experts(config);
  const uint32_t starts = starts_per_problem(config);
  if (starts == 0) throw Error("lse: no starts (no near-truth start and 0 random starts)");
  if (config.replications == 0) throw Error("lse: 0 replications");
  if (config.sample_sizes.empty()) throw Error("lse: no sample sizes");
  if (k < truth.experts()) {
    throw Error("lse: fitting " + std::to_string(k) + " experts to a truth of " +
                std::to_string(truth.experts()) + " (k must be at least k*)");
  }
  datasets.clear();
  datasets.reserve(config.sample_sizes.size() * config.replications);
  LseBatch batch;
  batch.family = truth.family;
  batch.degree = truth.degree;
  batch.dimension = truth.dimension;
  batch.experts = k;
  for (uint32_t n : config.sample_sizes) {
    if (n == 0) throw Error("lse: a sample size of 0");
    for (uint32_t r = 0; r < config.replications; ++r) {
      datasets.push_back(simulate(config.spec, n, r, config.seed));
      const uint32_t dataset = static_cast<uint32_t>(datasets.size() - 1);
      // Starts depend on (seed, replication, start), not on n: every n starts from the same
      // points, so differences across n come from the data.
      const uint64_t start_seed = config.seed * 1000003u + r;
      for (uint32_t s = 0; s < starts; ++s) {
        const std::vector<float> start =
            config.near_truth_start && s == 0
                ? near_truth_start(truth, k, config.near_truth_jitter, start_seed)
                : random_start(k, truth.dimension, start_seed * 31u + s);
        batch.start.insert(batch.start.end(), start.begin(), start.end());
        batch.dataset_of_problem.push_back(dataset);
      }
    }
  }
  for (const Dataset& data : datasets) batch.datasets.push_back(&data);
  return batch;
}

std::vector<LseFitRecord> summarise_experiment(const LseExperimentConfig& config,
                                               const LseBatchResult& result) {
  const MoeModel& truth = config.spec.truth;
  const uint32_t k = fitted_experts(config);
  const uint32_t starts = starts_per_problem(config);
  const uint32_t parameters = parameter_count(k, truth.dimension);
  const std::vector<double> points = box_points(config.spec, config.error_points, config.seed);
  std::vector<LseFitRecord> records;
  uint32_t problem = 0;
  for (uint32_t n : config.sample_sizes) {
    for (uint32_t r = 0; r < config.replications; ++r, problem += starts) {
      LseFitRecord record;
      record.samples = n;
      record.replication = r;
      record.objective = std::numeric_limits<double>::infinity();
      for (uint32_t s = 0; s < starts; ++s) {
        const double objective = result.objective[problem + s];
        if (std::isfinite(objective) && objective < record.objective) {
          record.objective = objective;
          record.best_start = s;
        }
      }
      const float* best =
          result.parameters.data() + size_t{problem + record.best_start} * parameters;
      record.fitted = unpack_parameters({best, parameters}, k, truth);
      record.loss = voronoi_loss(record.fitted, truth);
      record.function_error = function_l2_error(record.fitted, truth, points);
      records.push_back(std::move(record));
    }
  }
  return records;
}

std::vector<LseFitRecord> run_lse_experiment(vk::Context& context,
                                             const LseExperimentConfig& config) {
  std::vector<Dataset> datasets;
  const LseBatch batch = build_experiment_batch(config, datasets);
  const LseBatchResult result = fit_batch_gpu(context, batch, config.optimiser);
  return summarise_experiment(config, result);
}

}  // namespace vkmoe::stats
