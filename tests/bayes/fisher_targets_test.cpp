// The backward passes of each Fisher type (engine/bayes/fisher_targets.h): exact's √p targets
// give Σ_c p_c g gᵀ, mc's draws are reproducible from (seed, index) and follow p, empirical
// takes the true label.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/fisher_targets.h"

namespace vkmoe::bayes {
namespace {

TEST(FisherTargets, ExactIsOnePassPerLabelScaledBySqrtP) {
  const std::vector<double> p = label_probabilities(std::vector<float>{1.0f, 2.0f, -1.0f});
  double sum = 0;
  for (double x : p) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-15);
  const auto passes = fisher_targets(FisherType::kExact, p, 0, 0, 0);
  ASSERT_EQ(passes.size(), 3u);
  for (std::size_t c = 0; c < 3; ++c) {
    for (std::size_t k = 0; k < 3; ++k) {
      // g is linear in the targets, so g gᵀ of pass c is p_c g(e_c) g(e_c)ᵀ.
      const double expected = c == k ? std::sqrt(p[c]) : 0.0;
      EXPECT_NEAR(passes[c][k], expected, 1e-7);
    }
  }
}

TEST(FisherTargets, EmpiricalTakesTheTrueLabel) {
  const std::vector<double> p = {0.1, 0.2, 0.7};
  const auto passes = fisher_targets(FisherType::kEmpirical, p, 1, 0, 0);
  ASSERT_EQ(passes.size(), 1u);
  EXPECT_EQ(passes[0], (std::vector<float>{0, 1, 0}));
  EXPECT_THROW(fisher_targets(FisherType::kEmpirical, p, 3, 0, 0), BayesError);
}

TEST(FisherTargets, McDrawsAreCounterBasedAndFollowP) {
  const std::vector<double> p = {0.1, 0.2, 0.7};
  std::vector<int> hits(3, 0);
  constexpr int kDraws = 20000;
  for (int n = 0; n < kDraws; ++n) {
    const auto a = fisher_targets(FisherType::kMc, p, 0, 42, static_cast<std::uint64_t>(n));
    const auto b = fisher_targets(FisherType::kMc, p, 0, 42, static_cast<std::uint64_t>(n));
    ASSERT_EQ(a, b);  // the same (seed, index), the same label: what resume relies on
    for (std::size_t c = 0; c < 3; ++c) hits[c] += a[0][c] == 1.0f;
  }
  for (std::size_t c = 0; c < 3; ++c) {
    const double sd = std::sqrt(p[c] * (1 - p[c]) / kDraws);
    EXPECT_NEAR(hits[c] / static_cast<double>(kDraws), p[c], 5 * sd);
  }
  EXPECT_NE(counter_uniform(1, 7), counter_uniform(2, 7));
}

TEST(FisherTargets, SampleLabelSkipsZeroProbabilities) {
  const std::vector<double> p = {0.0, 0.5, 0.5, 0.0};
  EXPECT_EQ(sample_label(p, 0.0), 1);
  EXPECT_EQ(sample_label(p, 0.75), 2);
  EXPECT_EQ(sample_label(p, 1.0 - 1e-17), 2);
}

}  // namespace
}  // namespace vkmoe::bayes
