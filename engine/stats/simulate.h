// Samples (X, Y) from a RegressionSpec: X uniform on the box, Y = f_G*(X) + N(0, sigma^2)
// (the deterministic MoE regression), or from the Gaussian mixture of experts.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/stats/regression_spec.h"

namespace vkmoe::stats {

// n samples stored row by row as [x_1 .. x_d, y], the layout the GPU kernels read.
struct Dataset {
  uint32_t dimension = 1;
  uint32_t samples = 0;
  std::vector<float> rows;  // samples * (dimension + 1)

  uint32_t stride() const { return dimension + 1; }
  const float* row(uint32_t i) const { return rows.data() + size_t{i} * stride(); }
};

// Data set `replication` of size n under `seed`: the same arguments give the same data.
// Different n or replications use independent streams.
Dataset simulate(const RegressionSpec& spec, uint32_t samples, uint32_t replication, uint64_t seed);

// The Gaussian mixture of experts the Bayesian lab (bayes_model.h) models: X uniform on the box,
// an expert Z = i with probability softmax_i(beta1 . X + beta0), then Y = h(X, eta_Z) +
// N(0, sigma^2) (one sigma for all experts). Streams as simulate(), plus one for Z.
Dataset simulate_mixture(const RegressionSpec& spec, uint32_t samples, uint32_t replication,
                         uint64_t seed);

// A fixed set of points uniform on the box, for integrals over X (the L2 function error).
std::vector<double> box_points(const RegressionSpec& spec, uint32_t count, uint64_t seed);

}  // namespace vkmoe::stats
