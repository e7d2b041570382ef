// Merge-truncate-merge (merge_truncate_merge.h) on hand-made atom sets (merge, truncate, both,
// worked out by hand), the MoE atoms it works on, and strategy (b) of choosing K
// (choose_k_mtm.h) on well-separated data with K-bar = k* + 2.
#include <cmath>

#include "engine/stats/choose_k_mtm.h"
#include "engine/stats/merge_truncate_merge.h"
#include "engine/stats/simulate.h"
#include "tests/stats/well_separated_spec.h"
#include "tests/support/gpu_test.h"

namespace vkmoe::test {
namespace {

using stats::WeightedAtom;

TEST(MergeTruncateMerge, MergesAtomsWithinTheDistanceIntoTheHeavier) {
  const std::vector<WeightedAtom> atoms = {{0.3, {0.1, 0.0}}, {0.5, {0.0, 0.0}}, {0.2, {5.0, 5.0}}};
  const std::vector<WeightedAtom> merged = stats::merge_atoms(atoms, 0.5);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_NEAR(merged[0].weight, 0.8, 1e-12);
  EXPECT_NEAR(merged[0].location[0], 0.3 * 0.1 / 0.8, 1e-12);  // weighted mean
  EXPECT_EQ(merged[0].location[1], 0.0);
  EXPECT_EQ(merged[1].weight, 0.2);
  EXPECT_EQ(merged[1].location, (std::vector<double>{5.0, 5.0}));
  // Below the distance nothing merges; at distance 0 identical atoms still do.
  EXPECT_EQ(stats::merge_atoms(atoms, 0.05).size(), 3u);
  EXPECT_EQ(stats::merge_atoms({{0.4, {1.0}}, {0.6, {1.0}}}, 0.0).size(), 1u);
}

TEST(MergeTruncateMerge, TruncationGivesLightAtomsWeightToTheNearestKept) {
  const std::vector<WeightedAtom> atoms = {{0.6, {0.0}}, {0.03, {2.9}}, {0.37, {3.0}}};
  const std::vector<WeightedAtom> kept = stats::truncate_atoms(atoms, 0.05);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].weight, 0.6);
  EXPECT_NEAR(kept[1].weight, 0.40, 1e-12);
  EXPECT_EQ(kept[1].location[0], 3.0);  // truncation moves no atom
  // All lighter than the threshold: the heaviest stays with all the weight.
  const std::vector<WeightedAtom> one = stats::truncate_atoms(atoms, 0.9);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_NEAR(one[0].weight, 1.0, 1e-12);
  EXPECT_EQ(one[0].location[0], 0.0);
}

TEST(MergeTruncateMerge, MergingFirstSavesTwoLightNeighboursFromTruncation) {
  // Omega 0.5, min weight 0.05: A and B merge (0.9 at 0.4/3); C and D merge (0.08 at 4.1),
  // which is above the threshold though each alone is not; E (0.02) is truncated into the
  // nearest atom left, C+D. Truncating first would have left one atom.
  const std::vector<WeightedAtom> atoms = {
      {0.50, {0.0}}, {0.40, {0.3}}, {0.04, {4.0}}, {0.04, {4.2}}, {0.02, {10.0}}};
  const std::vector<WeightedAtom> out = stats::merge_truncate_merge(atoms, {0.5, 0.05});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NEAR(out[0].weight, 0.9, 1e-12);
  EXPECT_NEAR(out[0].location[0], 0.4 * 0.3 / 0.9, 1e-12);
  EXPECT_NEAR(out[1].weight, 0.10, 1e-12);
  EXPECT_NEAR(out[1].location[0], 4.1, 1e-12);
  EXPECT_EQ(stats::truncate_atoms(atoms, 0.05).size(), 2u);  // A, B: C, D, E all dropped
  EXPECT_EQ(stats::merge_atoms(stats::truncate_atoms(atoms, 0.05), 0.5).size(), 1u);
}

TEST(MergeTruncateMerge, ThresholdsShrinkWithN) {
  const stats::MtmThresholds t = stats::mtm_thresholds(1000, 2.0, 0.5);
  const double omega = 2.0 * std::pow(std::log(1000.0) / 1000.0, 0.25);
  EXPECT_NEAR(t.merge_distance, omega, 1e-12);
  EXPECT_NEAR(t.min_weight, 0.5 * omega * omega, 1e-12);
  EXPECT_LT(stats::mtm_thresholds(10000, 2.0, 0.5).merge_distance, t.merge_distance);
  EXPECT_THROW(stats::mtm_thresholds(1, 2.0, 0.5), std::exception);
}

TEST(MergeTruncateMerge, TwoCopiesOfAnExpertAreOneAtomWithTheSummedGate) {
  // Atoms 0 and 1 share (beta1, a, b) and differ in beta0: their averaged gates add up to the
  // averaged gate of one atom with exp(beta0) = exp(0.3) + exp(-0.4), so MTM at distance 0
  // returns exactly the two-atom model's weights.
  stats::BayesMoe three;
  three.family = stats::ExpertFamily::tanh;
  three.experts = 3;
  stats::BayesMoe two = three;
  two.experts = 2;
  const std::vector<double> theta3 = {0.8, 0.3,  1.5, 0.2, -1.0, 0.8, -0.4, 1.5,
                                      0.2, -2.0, 0.0, 0.0, -1.0, 0.5, -1.0};
  const double merged_bias = std::log(std::exp(0.3) + std::exp(-0.4));
  const std::vector<double> theta2 = {0.8, merged_bias, 1.5, 0.2, -1.0, 0.0, 0.0, -1.0, 0.5, -1.0};
  stats::RegressionSpec spec;
  spec.truth.family = stats::ExpertFamily::tanh;
  spec.truth.atoms = {{{1.0}, 0.0, {1.0}, 0.0}};
  spec.noise_sigma = 0.1;
  const stats::Dataset data = stats::simulate(spec, 50, 0, 4);
  const auto atoms3 = stats::moe_atoms(three, data, theta3);
  const auto atoms2 = stats::moe_atoms(two, data, theta2);
  ASSERT_EQ(atoms3[0].location, (std::vector<double>{0.8, 1.5, 0.2}));
  double total = 0;
  for (const WeightedAtom& a : atoms3) total += a.weight;
  EXPECT_NEAR(total, 1.0, 1e-12);
  const auto merged = stats::merge_truncate_merge(atoms3, {0.0, 0.0});
  ASSERT_EQ(merged.size(), 2u);
  auto sorted2 = stats::merge_atoms(atoms2, 0.0);  // by decreasing weight, as merged is
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(merged[i].weight, sorted2[i].weight, 1e-12);
    EXPECT_EQ(merged[i].location, sorted2[i].location);
  }
}

class MergeTruncateMergeGpu : public GpuTest {};

TEST_F(MergeTruncateMergeGpu, OverfittedPosteriorRecoversKStarOnWellSeparatedData) {
  // k* = 2, fitted with K-bar = 4 under the Dirichlet(0.1) weight prior.
  const stats::RegressionSpec spec = stats_test::well_separated_sigmoid_spec();
  const stats::Dataset data = stats::simulate_mixture(spec, 200, 0, 2);
  stats::MtmChooseSettings settings;
  settings.k_bar = 4;
  settings.hmc.chains = 2;
  settings.hmc.warmup = 200;
  settings.hmc.draws = 100;
  settings.hmc.seed = 5;
  const stats::MtmChoice choice = stats::choose_k_by_mtm(context(), spec, data, {}, settings);
  const std::vector<double>& p = choice.posterior.probability;
  EXPECT_EQ(choice.posterior.mode_k, 2u)
      << "p(K) over draws " << p[0] << " " << p[1] << " " << p[2] << " " << p[3];
  EXPECT_GT(p[1], 0.5);
}

}  // namespace
}  // namespace vkmoe::test
