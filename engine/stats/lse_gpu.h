// The batched least-squares fit on the GPU: Adam (shaders/stats_lse.comp), then
// Levenberg-Marquardt (shaders/stats_lm.comp). One workgroup per problem, every problem of the
// batch advanced together, several steps per dispatch, and all dispatches recorded into one
// stream before it is submitted.
#pragma once

#include "engine/stats/lse_batch.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

struct GpuFitOptions {
  // Steps one dispatch runs. Long dispatches risk a driver's watchdog on desktop GPUs; short
  // ones cost a barrier each.
  uint32_t iterations_per_dispatch = 50;
  uint32_t refine_iterations_per_dispatch = 5;  // each is up to two passes over the rows
};

LseBatchResult fit_batch_gpu(vk::Context& context, const LseBatch& batch,
                             const LseOptimiser& optimiser, const GpuFitOptions& options = {});

// L and dL/dtheta at the starting values, without a step.
LseBatchResult evaluate_batch_gpu(vk::Context& context, const LseBatch& batch);

}  // namespace vkmoe::stats
