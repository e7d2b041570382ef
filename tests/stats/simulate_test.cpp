// Simulation: reproducible, covariates on the box, responses = f_G*(x) + noise of the stated size.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/stats/simulate.h"

namespace vkmoe::stats {
namespace {

RegressionSpec two_sigmoid_experts(double sigma) {
  RegressionSpec spec;
  spec.truth.family = ExpertFamily::sigmoid;
  spec.truth.dimension = 2;
  spec.truth.atoms = {{{1.0, -0.5}, 0.3, {2.0, 1.0}, -0.5}, {{-1.0, 0.5}, 0.0, {-1.0, 3.0}, 0.5}};
  spec.box_low = -2.0;
  spec.box_high = 1.0;
  spec.noise_sigma = sigma;
  return spec;
}

TEST(Simulate, NoiselessResponsesAreTheRegressionFunction) {
  const RegressionSpec spec = two_sigmoid_experts(0.0);
  const Dataset data = simulate(spec, 500, 0, 7);
  ASSERT_EQ(data.rows.size(), 500u * 3u);
  for (uint32_t i = 0; i < data.samples; ++i) {
    const float* row = data.row(i);
    const double x[2] = {row[0], row[1]};
    for (double v : x) {
      EXPECT_GE(v, -2.0);
      EXPECT_LE(v, 1.0);
    }
    EXPECT_NEAR(row[2], evaluate(spec.truth, x), 1e-6);
  }
}

TEST(Simulate, ReproducibleAndIndependentAcrossReplications) {
  const RegressionSpec spec = two_sigmoid_experts(0.1);
  EXPECT_EQ(simulate(spec, 100, 3, 11).rows, simulate(spec, 100, 3, 11).rows);
  EXPECT_NE(simulate(spec, 100, 3, 11).rows, simulate(spec, 100, 4, 11).rows);
  EXPECT_NE(simulate(spec, 100, 3, 11).rows, simulate(spec, 100, 3, 12).rows);
}

TEST(Simulate, NoiseHasTheStatedStandardDeviation) {
  const RegressionSpec spec = two_sigmoid_experts(0.5);
  const Dataset data = simulate(spec, 20000, 1, 5);
  double sum = 0, sum2 = 0;
  for (uint32_t i = 0; i < data.samples; ++i) {
    const float* row = data.row(i);
    const double x[2] = {row[0], row[1]};
    const double e = row[2] - evaluate(spec.truth, x);
    sum += e;
    sum2 += e * e;
  }
  const double mean = sum / data.samples;
  EXPECT_NEAR(mean, 0.0, 0.02);  // 4 standard errors
  EXPECT_NEAR(std::sqrt(sum2 / data.samples - mean * mean), 0.5, 0.01);
}

TEST(Simulate, CovariatesFillTheBoxUniformly) {
  const RegressionSpec spec = two_sigmoid_experts(0.0);
  const Dataset data = simulate(spec, 20000, 0, 3);
  int below = 0;
  for (uint32_t i = 0; i < data.samples; ++i) below += data.row(i)[1] < -0.5 ? 1 : 0;
  EXPECT_NEAR(below / 20000.0, 0.5, 0.015);
}

TEST(Simulate, MixtureResponsesComeFromOneExpertChosenByTheGates) {
  // Noiseless: every response is exactly one expert's value; the share of expert 0 matches the
  // mean gate probability (binomial, 4 standard errors).
  const RegressionSpec spec = two_sigmoid_experts(0.0);
  const uint32_t n = 4000;
  const Dataset data = simulate_mixture(spec, n, 0, 3);
  EXPECT_EQ(simulate_mixture(spec, n, 0, 3).rows, data.rows);
  double chosen = 0, expected = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const float* row = data.row(i);
    double value[2], gate[2];
    for (uint32_t e = 0; e < 2; ++e) {
      const ExpertAtom& atom = spec.truth.atoms[e];
      gate[e] = atom.gate_bias + atom.gate_slope[0] * row[0] + atom.gate_slope[1] * row[1];
      value[e] = expert_value(spec.truth.family, 1,
                              atom.expert_bias + atom.expert_slope[0] * row[0] +
                                  atom.expert_slope[1] * row[1])
                     .value;
    }
    const bool first = std::abs(row[2] - value[0]) < 1e-6;
    EXPECT_TRUE(first || std::abs(row[2] - value[1]) < 1e-6) << "row " << i;
    chosen += first ? 1 : 0;
    expected += 1 / (1 + std::exp(gate[1] - gate[0]));
  }
  const double p = expected / n;
  EXPECT_NEAR(chosen / n, p, 4 * std::sqrt(p * (1 - p) / n));
}

}  // namespace
}  // namespace vkmoe::stats
