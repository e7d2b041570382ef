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

}  // namespace
}  // namespace vkmoe::stats
