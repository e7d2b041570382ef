// The batched least-squares fit on the GPU: Adam (shaders/stats_lse.comp), then
// Levenberg-Marquardt (shaders/stats_lm.comp). One workgroup per problem, every problem of the
// batch advanced together, several steps per dispatch (as lse_plan.h cuts them), and all
// dispatches recorded into one stream before it is submitted.
#pragma once

#include "engine/stats/lse_batch.h"
#include "engine/stats/lse_plan.h"
#include "engine/vk/context.h"

namespace vkmoe::stats {

LseBatchResult fit_batch_gpu(vk::Context& context, const LseBatch& batch,
                             const LseOptimiser& optimiser, const GpuFitOptions& options = {});

// L and dL/dtheta at the starting values, without a step.
LseBatchResult evaluate_batch_gpu(vk::Context& context, const LseBatch& batch);

}  // namespace vkmoe::stats
