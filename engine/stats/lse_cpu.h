// The single-thread CPU reference of the batched least-squares fit: the objective and its
// gradient in double precision (the tests' reference), and the same optimiser as the GPU
// kernels, Adam then Levenberg-Marquardt (the benchmark's baseline).
#pragma once

#include <span>

#include "engine/stats/lse_batch.h"

namespace vkmoe::stats {

// L(theta) = (1/n) sum (f - y)^2 over `data`; writes dL/dtheta to `gradient` (parameters).
double lse_objective(const LseBatch& batch, std::span<const float> theta, const Dataset& data,
                     std::span<double> gradient);

// Every problem of the batch, one after another, on one thread.
LseBatchResult fit_batch_cpu(const LseBatch& batch, const LseOptimiser& optimiser);

}  // namespace vkmoe::stats
