// A batch of least-squares problems for softmax-gated MoE regression, and the optimiser that
// solves them. Every problem fits the same number of experts of the same family to one data
// set from one starting point; many problems share a data set (restarts). The GPU
// (lse_gpu.h) and the single-thread CPU reference (lse_cpu.h) run the same algorithm on
// L(theta) = (1/n) sum_s (f_theta(x_s) - y_s)^2: full-batch Adam with an exponentially decaying
// step size (global search from rough starts), then Levenberg-Marquardt (fast, precise
// convergence in the ill-conditioned valleys that over-fitted models have).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/stats/moe_model.h"
#include "engine/stats/simulate.h"

namespace vkmoe::stats {

struct LseBatch {
  ExpertFamily family = ExpertFamily::sigmoid;
  uint32_t degree = 1;
  uint32_t dimension = 1;
  uint32_t experts = 1;
  std::vector<const Dataset*> datasets;      // not owned
  std::vector<uint32_t> dataset_of_problem;  // one entry per problem
  std::vector<float> start;                  // problems * parameter_count(experts, dimension)

  uint32_t problems() const { return static_cast<uint32_t>(dataset_of_problem.size()); }
  uint32_t parameters() const { return parameter_count(experts, dimension); }
};

struct AdamSchedule {
  uint32_t iterations = 2000;
  float learning_rate = 0.05f;          // at step 1
  float final_learning_rate = 1.0e-4f;  // at step `iterations`
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1.0e-8f;

  // The step size at step t is learning_rate * exp(log_decay() * (t - 1)).
  float log_decay() const {
    if (iterations < 2) return 0.0f;
    return static_cast<float>(std::log(static_cast<double>(final_learning_rate) / learning_rate) /
                              (iterations - 1));
  }
};

// Marquardt's damping: solve (J^T J + lambda diag(J^T J)) delta = -J^T r; a step that lowers
// the loss is kept and lambda /= 3, otherwise lambda *= 4. A problem stops once lambda reaches
// 1e10 (no step of any length lowers the loss in float precision).
struct LevenbergMarquardtSchedule {
  uint32_t iterations = 0;
  float initial_damping = 1.0e-3f;
};

struct LseOptimiser {
  AdamSchedule adam;
  LevenbergMarquardtSchedule refine;
  // The least-squares estimator is defined over a compact parameter set: every parameter stays
  // in [-bound, bound] (both optimisers project onto the box). Without it an expert of vanishing
  // mass may run off to infinity, which the loss hardly sees but the Voronoi loss does.
  float parameter_bound = 10.0f;
};

struct LseBatchResult {
  std::vector<float> parameters;  // problems * parameters
  std::vector<double> objective;  // L at the final parameters, per problem
  std::vector<float> gradient;    // dL/dtheta at the final parameters, problems * parameters
  uint64_t dispatches = 0;        // GPU fits: the dispatches recorded
};

// Throws Error naming the first inconsistency (sizes, limits, empty data sets).
void validate_batch(const LseBatch& batch);

}  // namespace vkmoe::stats
