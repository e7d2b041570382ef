// How the batched fit is cut into dispatches so that no shader invocation passes a driver's
// loop limit (vk::DeviceInfo::max_loop_iterations: lavapipe silently ends every loop of an
// invocation after 65,535 back-edges in total). Without a limit every kernel runs as many steps
// per dispatch as asked. With one, the loop trips of every invocation are counted (an upper
// bound, from the structure of shaders/stats_lse.comp and shaders/stats_lm.comp) and
// - fewer steps run per dispatch, or, where even one pass over the rows is too long,
// - each pass over the rows is split into parts, one dispatch each, whose sums are carried in
//   a buffer, and a short dispatch then takes the step from the sums.
#pragma once

#include <cstdint>

#include "engine/stats/lse_batch.h"

namespace vkmoe::stats {

inline constexpr uint32_t kAdamGroupSize = 64;  // invocations per problem, stats_lse.comp
inline constexpr uint32_t kLmGroupSize = 32;    // stats_lm.comp (at least 32)

struct GpuFitOptions {
  // Steps one dispatch runs. Long dispatches risk a driver's watchdog on desktop GPUs; short
  // ones cost a barrier each. Devices with a loop limit may run fewer (see GpuFitPlan).
  uint32_t iterations_per_dispatch = 50;
  uint32_t refine_iterations_per_dispatch = 5;  // each is up to two passes over the rows
};

// One kernel's share of the fit.
struct KernelPlan {
  // false: `steps_per_dispatch` steps per dispatch, each a pass over all rows of every problem.
  // true: one pass per `parts` dispatches of `rows_per_part` rows, then the step.
  bool split = false;
  uint32_t steps_per_dispatch = 0;
  uint32_t parts = 1;
  uint32_t rows_per_part = 0;
  uint64_t dispatches = 0;  // for the whole fit, per group of problems launched together
  uint64_t loop_trips = 0;  // the most loop trips any invocation of one dispatch counts
};

struct GpuFitPlan {
  KernelPlan adam;
  KernelPlan refine;  // dispatches = 0 without refinement
};

// max_loop_iterations: vk::DeviceInfo's (0: no limit). max_rows: the largest data set of the
// batch. Throws Error if a kernel cannot be cut small enough (it names the limit).
GpuFitPlan plan_gpu_fit(uint32_t max_loop_iterations, const LseBatch& batch, uint32_t max_rows,
                        const LseOptimiser& optimiser, const GpuFitOptions& options);

}  // namespace vkmoe::stats
