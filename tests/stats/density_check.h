// What the Bayesian-MoE density tests share: the three-atom data, random points, and the check
// of the GPU kernel's log posterior and gradient (shaders/stats_hmc.comp) against the C++
// reference at float-rounded points.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/stats/bayes_density.h"
#include "engine/stats/bayes_hmc.h"
#include "engine/stats/counter_rng.h"
#include "engine/stats/simulate.h"

namespace vkmoe::stats_test {

// Three atoms in two dimensions.
inline stats::Dataset three_atom_data(stats::ExpertFamily family, uint32_t samples, uint64_t seed) {
  stats::RegressionSpec spec;
  spec.truth.family = family;
  spec.truth.dimension = 2;
  spec.truth.atoms = {{{1.0, 0.5}, 0.2, {1.5, -1.0}, 0.3},
                      {{-0.5, 1.0}, -0.1, {-1.0, 0.5}, -0.2},
                      {{0.0, 0.0}, 0.0, {0.5, 0.5}, 0.1}};
  spec.noise_sigma = 0.3;
  return stats::simulate(spec, samples, 0, seed);
}

// A random point: gates and experts N(0, sd²), log variances in [-1.5, 0.5], fixed ones 0.
inline std::vector<double> random_point(const stats::BayesMoe& model,
                                        const std::vector<uint8_t>& free, uint64_t seed,
                                        uint64_t stream, double sd) {
  const stats::CounterRng rng(seed, stream);
  std::vector<double> theta(model.parameters());
  for (uint32_t q = 0; q < theta.size(); ++q) {
    const bool variance = q % model.stride() == model.stride() - 1;
    theta[q] = !free[q] ? 0.0 : variance ? -1.5 + 2.0 * rng.uniform(q) : sd * rng.normal(q);
  }
  return theta;
}

// The gradient of the reference log posterior by central differences at h = 1e-5 (truncation
// ~h² f''', rounding ~1e-16 |f| / h); 0 for fixed parameters.
inline std::vector<double> central_differences(const stats::BayesMoe& model,
                                               const stats::Dataset& data,
                                               std::vector<double> theta,
                                               const std::vector<uint8_t>& free) {
  const double h = 1e-5;
  std::vector<double> out(theta.size());
  for (size_t q = 0; q < theta.size(); ++q) {
    const double at = theta[q];
    theta[q] = at + h;
    const double up = stats::log_posterior(model, data, theta, free);
    theta[q] = at - h;
    const double down = stats::log_posterior(model, data, theta, free);
    theta[q] = at;
    out[q] = free[q] ? (up - down) / (2 * h) : 0.0;
  }
  return out;
}

// Points 0 .. count-1 of random_point, rounded to float as the float kernel sees them, one after
// another.
inline std::vector<double> float_points(const stats::BayesMoe& model,
                                        const std::vector<uint8_t>& free, uint64_t seed,
                                        uint32_t count, double sd) {
  std::vector<double> positions;
  for (uint64_t point = 0; point < count; ++point) {
    for (double v : random_point(model, free, seed, point, sd)) positions.push_back(float(v));
  }
  return positions;
}

// The kernel's value and gradient at each point against the reference: float sums of a few
// dozen rows, so relative 1e-6 of the value and 2e-6 of the largest gradient entry (measured on
// lavapipe at 37 rows: at most 1.9e-7 and 2.8e-7). Returns the reference gradients [point][q].
inline std::vector<std::vector<double>> expect_kernel_matches_reference(
    const stats::DensityAt& gpu, const stats::BayesMoe& model, const stats::Dataset& data,
    std::span<const double> positions, const std::vector<uint8_t>& free, const std::string& label) {
  const uint32_t p = model.parameters();
  const std::size_t points = positions.size() / p;
  EXPECT_EQ(gpu.log_density.size(), points) << label;
  std::vector<std::vector<double>> gradients;
  for (std::size_t point = 0; point < points && point < gpu.log_density.size(); ++point) {
    const std::span<const double> theta = positions.subspan(point * p, p);
    std::vector<double>& gradient = gradients.emplace_back(p);
    const double value = stats::log_posterior(model, data, theta, free, gradient);
    double scale = 1;
    for (double g : gradient) scale = std::max(scale, std::abs(g));
    EXPECT_NEAR(gpu.log_density[point], value, 1e-6 * (1 + std::abs(value)))
        << label << " point " << point;
    for (uint32_t q = 0; q < p; ++q) {
      EXPECT_NEAR(gpu.gradient[point * p + q], gradient[q], 2e-6 * scale)
          << label << " point " << point << " parameter " << q;
    }
  }
  return gradients;
}

}  // namespace vkmoe::stats_test
