#include "engine/stats/simulate.h"

#include <algorithm>
#include <cmath>

#include "engine/stats/counter_rng.h"

namespace vkmoe::stats {

Dataset simulate(const RegressionSpec& spec, uint32_t samples, uint32_t replication,
                 uint64_t seed) {
  const uint32_t d = spec.truth.dimension;
  const uint64_t stream = (uint64_t{replication} << 32) | samples;
  const CounterRng covariates(seed, stream * 2);
  const CounterRng noise(seed, stream * 2 + 1);
  Dataset data;
  data.dimension = d;
  data.samples = samples;
  data.rows.resize(size_t{samples} * data.stride());
  std::vector<double> x(d);
  const double width = spec.box_high - spec.box_low;
  for (uint32_t i = 0; i < samples; ++i) {
    for (uint32_t j = 0; j < d; ++j) {
      // Rounded to float first so that the response is computed at the stored covariates.
      x[j] = static_cast<float>(spec.box_low + width * covariates.uniform(uint64_t{i} * d + j));
    }
    const double y = evaluate(spec.truth, x) + spec.noise_sigma * noise.normal(i);
    float* row = data.rows.data() + size_t{i} * data.stride();
    for (uint32_t j = 0; j < d; ++j) row[j] = static_cast<float>(x[j]);
    row[d] = static_cast<float>(y);
  }
  return data;
}

Dataset simulate_mixture(const RegressionSpec& spec, uint32_t samples, uint32_t replication,
                         uint64_t seed) {
  const MoeModel& truth = spec.truth;
  const uint32_t d = truth.dimension, k = truth.experts();
  // The covariates and noise are those of simulate(); the response is replaced.
  Dataset data = simulate(spec, samples, replication, seed);
  const uint64_t stream = (uint64_t{replication} << 32) | samples;
  const CounterRng noise(seed, stream * 2 + 1);
  const CounterRng choice(seed, ~stream);
  std::vector<double> weight(k);
  for (uint32_t s = 0; s < samples; ++s) {
    float* row = data.rows.data() + size_t{s} * data.stride();
    double largest = -INFINITY;
    for (uint32_t i = 0; i < k; ++i) {
      double g = truth.atoms[i].gate_bias;
      for (uint32_t j = 0; j < d; ++j) g += truth.atoms[i].gate_slope[j] * row[j];
      weight[i] = g;
      largest = std::max(largest, g);
    }
    double total = 0;
    for (double& w : weight) total += (w = std::exp(w - largest));
    // Inverse CDF of the categorical gate distribution.
    double u = choice.uniform(s) * total;
    uint32_t z = 0;
    while (z + 1 < k && u >= weight[z]) u -= weight[z++];
    const ExpertAtom& atom = truth.atoms[z];
    double value = atom.expert_bias;
    for (uint32_t j = 0; j < d; ++j) value += atom.expert_slope[j] * row[j];
    row[d] = static_cast<float>(expert_value(truth.family, truth.degree, value).value +
                                spec.noise_sigma * noise.normal(s));
  }
  return data;
}

std::vector<double> box_points(const RegressionSpec& spec, uint32_t count, uint64_t seed) {
  const uint32_t d = spec.truth.dimension;
  const CounterRng rng(seed, 0xb0c5);
  std::vector<double> points(size_t{count} * d);
  for (size_t i = 0; i < points.size(); ++i) {
    points[i] = spec.box_low + (spec.box_high - spec.box_low) * rng.uniform(i);
  }
  return points;
}

}  // namespace vkmoe::stats
