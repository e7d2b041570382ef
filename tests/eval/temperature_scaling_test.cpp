// Temperature scaling against a case solved by hand, and its refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/eval/temperature_scaling.h"
#include "engine/vk/error.h"

namespace vkmoe::eval {
namespace {

// Two classes with logits (z, 0): p(first) = σ(z/T). With a fraction q of the items labelled
// first, the NLL is minimal where σ(z/T) = q, i.e. T = z / logit(q).
TEST(TemperatureScaling, MatchesTheClosedFormOfTwoClasses) {
  const std::vector<std::vector<double>> logits(4, std::vector<double>{2.0, 0.0});
  const std::vector<int> labels{0, 0, 0, 1};  // q = 3/4, logit(q) = ln 3
  const TemperatureFit fit = fit_temperature(logits, labels);
  // Golden section resolves a smooth minimum to about √ε of the bracket (NLL differences below
  // that are rounding), so T is good to ~1e-8.
  EXPECT_NEAR(fit.temperature, 2.0 / std::log(3.0), 1e-6);
  EXPECT_LT(fit.nll, fit.nll_at_one);
  // The minimum: −(3/4) log(3/4) − (1/4) log(1/4).
  EXPECT_NEAR(fit.nll, -0.75 * std::log(0.75) - 0.25 * std::log(0.25), 1e-12);
}

TEST(TemperatureScaling, OverConfidentLogitsGetTemperatureAboveOne) {
  // Right two times in three with logits that claim ~100%.
  const std::vector<std::vector<double>> logits{{9, 0, 0}, {0, 9, 0}, {0, 0, 9}};
  const std::vector<int> labels{0, 1, 0};
  EXPECT_GT(fit_temperature(logits, labels).temperature, 1.0);
}

TEST(TemperatureScaling, SeparableDataStopsAtTheLowerBound) {
  const std::vector<std::vector<double>> logits{{1, 0}, {0, 1}};
  const std::vector<int> labels{0, 1};
  EXPECT_NEAR(fit_temperature(logits, labels).temperature, kMinTemperature, 1e-9);
}

TEST(TemperatureScaling, TemperedSoftmax) {
  const std::vector<double> z{std::log(3.0), 0.0};
  const std::vector<double> p = tempered_softmax(z, 1.0);
  EXPECT_NEAR(p[0], 0.75, 1e-15);
  const std::vector<double> hot = tempered_softmax(z, 2.0);  // σ(ln 3 / 2) = √3 / (√3 + 1)
  EXPECT_NEAR(hot[0], std::sqrt(3.0) / (std::sqrt(3.0) + 1), 1e-15);
}

TEST(TemperatureScaling, RefusesBadInput) {
  const std::vector<std::vector<double>> logits{{1, 0}};
  EXPECT_THROW(fit_temperature({}, std::vector<int>{}), Error);
  EXPECT_THROW(fit_temperature(logits, std::vector<int>{0, 1}), Error);
  EXPECT_THROW(fit_temperature(logits, std::vector<int>{2}), Error);
  EXPECT_THROW(fit_temperature(std::vector<std::vector<double>>{{NAN, 0}}, std::vector<int>{0}),
               Error);
}

}  // namespace
}  // namespace vkmoe::eval
