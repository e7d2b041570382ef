// The Hellinger distance of hellinger.h against closed forms: the Bhattacharyya coefficient of
// two Gaussians, sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2))), at one x
// and averaged over design points; a two-component mixture against a dense trapezoid sum
// written here; and the limits h(p, p) = 0, h of disjoint densities = 1.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "engine/stats/hellinger.h"

namespace vkmoe::test {
namespace {

using stats::BayesMoe;
using stats::GaussianMixture1d;

double gaussian_bc(double m1, double s1, double m2, double s2) {
  const double v = s1 * s1 + s2 * s2;
  return std::sqrt(2 * s1 * s2 / v) * std::exp(-(m1 - m2) * (m1 - m2) / (4 * v));
}

TEST(Hellinger, TwoGaussiansMatchTheClosedForm) {
  // Equal, shifted, wider, very different scales, and far apart.
  const double cases[][4] = {{0, 1, 0, 1},       {0, 1, 0.5, 1},    {0, 1, 3, 1},
                             {0, 1, 0, 1.5},     {0, 0.05, 0.2, 2}, {0, 1e-3, 0, 10},
                             {-1, 0.05, 1, 0.05}};
  for (const auto& c : cases) {
    const GaussianMixture1d p{{1.0}, {c[0]}, {c[1]}}, q{{1.0}, {c[2]}, {c[3]}};
    EXPECT_NEAR(stats::bhattacharyya_coefficient(p, q), gaussian_bc(c[0], c[1], c[2], c[3]), 1e-12)
        << c[0] << " " << c[1] << " " << c[2] << " " << c[3];
  }
}

TEST(Hellinger, AverageOverDesignPointsOfOneLinearExpert) {
  // k = 1 linear experts N(a x + b, s^2) against N(a' x + b', s'^2): h^2 is the mean over the
  // points of 1 - BC(x) with the closed form at each x.
  BayesMoe model;
  model.family = stats::ExpertFamily::linear;
  model.experts = 1;
  const std::vector<double> theta = {0, 0, 0.8, -0.3, std::log(0.04)};
  const std::vector<double> truth = {0, 0, 1.0, -0.2, std::log(0.09)};
  const std::vector<double> points = {-1.0, -0.3, 0.0, 0.4, 0.95};
  double squared = 0;
  for (double x : points) {
    squared += 1 - gaussian_bc(0.8 * x - 0.3, 0.2, 1.0 * x - 0.2, 0.3);
  }
  const double expected = std::sqrt(squared / static_cast<double>(points.size()));
  EXPECT_NEAR(stats::hellinger_distance(model, theta, model, truth, points), expected, 1e-12);
  EXPECT_GT(expected, 0.1);  // the case is not trivially near zero
}

TEST(Hellinger, MixtureMatchesADenseTrapezoidSum) {
  const GaussianMixture1d p{{0.3, 0.7}, {-0.5, 0.8}, {0.1, 0.4}};
  const GaussianMixture1d q{{0.6, 0.4}, {-0.4, 1.5}, {0.2, 0.05}};
  const auto density = [](const GaussianMixture1d& m, double y) {
    double total = 0;
    for (size_t i = 0; i < m.weight.size(); ++i) {
      const double z = (y - m.mean[i]) / m.sd[i];
      total += m.weight[i] * std::exp(-0.5 * z * z) / (m.sd[i] * std::sqrt(2 * std::numbers::pi));
    }
    return total;
  };
  // Spacing 1e-4 resolves the narrowest (0.05) component; [-6, 6] holds every component's mass
  // to 1e-20.
  const double h = 1e-4;
  double trapezoid = 0;
  for (int i = -60000; i <= 60000; ++i) {
    const double y = i * h;
    trapezoid += (std::abs(i) == 60000 ? 0.5 : 1.0) * std::sqrt(density(p, y) * density(q, y));
  }
  trapezoid *= h;
  EXPECT_NEAR(stats::bhattacharyya_coefficient(p, q), trapezoid, 1e-9);
}

TEST(Hellinger, IdenticalDensitiesAreAtZeroAndDisjointOnesAtOne) {
  BayesMoe model;
  model.family = stats::ExpertFamily::sigmoid;
  model.experts = 2;
  // [beta1, beta0, a, b, log sigma^2] per atom, the last gate zero.
  const std::vector<double> theta = {1.0, 0.2, 2.0,  0.5,  std::log(0.0025),
                                     0.0, 0.0, -1.5, -0.5, std::log(0.0025)};
  const std::vector<double> points = {-2.0, -0.5, 0.3, 1.7};
  EXPECT_LT(stats::hellinger_distance(model, theta, model, theta, points), 1e-6);
  BayesMoe linear = model;
  linear.family = stats::ExpertFamily::linear;
  std::vector<double> shifted = theta;
  shifted[3] += 5, shifted[8] += 5;  // linear experts: means moved by 100 sd
  EXPECT_NEAR(stats::hellinger_distance(linear, shifted, linear, theta, points), 1.0, 1e-12);
}

}  // namespace
}  // namespace vkmoe::test
