// Relabelling draws to a reference: hand-made draws whose atoms were permuted (and whose gates
// were re-expressed with the new last atom at zero, as a sampler would produce them) come back
// in the reference's order, with the regression function unchanged.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/stats/relabel.h"

namespace vkmoe::test {
namespace {

using stats::BayesMoe;

BayesMoe model3() {
  BayesMoe model;
  model.family = stats::ExpertFamily::sigmoid;
  model.experts = 3;
  return model;
}

// Atoms [beta1, beta0, a, b, log sigma^2] with well separated experts; last gate zero.
const std::vector<double> kReference = {1.5,  0.4,  3.0,  1.0,  -2.0,  //
                                        -1.0, -0.3, -2.0, 0.0,  -1.0,  //
                                        0.0,  0.0,  0.5,  -1.5, -3.0};

// The same mixture with its atoms listed in the order `perm` and gates re-expressed.
std::vector<double> listed_as(const std::vector<uint32_t>& perm) {
  return stats::permute_atoms(model3(), kReference, perm);
}

TEST(Relabel, PermutedDrawsReturnToTheReferenceOrder) {
  const BayesMoe model = model3();
  const std::vector<std::vector<uint32_t>> orders = {{0, 1, 2}, {1, 0, 2}, {2, 1, 0},
                                                     {1, 2, 0}, {2, 0, 1}, {0, 2, 1}};
  stats::PosteriorDraws draws;
  draws.chains = 1;
  draws.draws = static_cast<uint32_t>(orders.size());
  draws.parameters = model.parameters();
  for (size_t d = 0; d < orders.size(); ++d) {
    std::vector<double> theta = listed_as(orders[d]);
    // A small perturbation, as a posterior draw near the reference would have.
    for (size_t q = 0; q < theta.size(); ++q) theta[q] += 0.01 * std::sin(double(7 * d + q));
    theta[model.gate_slope(2)] = theta[model.gate_bias(2)] = 0.0;  // the last gate is fixed
    draws.values.insert(draws.values.end(), theta.begin(), theta.end());
    draws.log_density.push_back(-double(d));
  }
  draws.accept.assign(orders.size(), 1.0);
  draws.divergent.assign(orders.size(), 0);

  const stats::Relabelled out = stats::relabel_draws(model, draws, kReference);
  EXPECT_EQ(out.permuted_draws, 5u);  // all but the identity order
  for (uint32_t d = 0; d < draws.draws; ++d) {
    for (uint32_t q = 0; q < model.parameters(); ++q) {
      EXPECT_NEAR(out.draws.value(0, d, q), kReference[q], 0.05) << "draw " << d << " q " << q;
    }
    // The regression function of each draw is unchanged by relabelling.
    const std::span<const double> before(draws.values.data() + size_t{d} * model.parameters(),
                                         model.parameters());
    const std::span<const double> after(out.draws.values.data() + size_t{d} * model.parameters(),
                                        model.parameters());
    for (double x : {-1.0, 0.3, 1.7}) {
      const double xs[] = {x};
      EXPECT_NEAR(stats::evaluate(stats::regression_atoms(model, before), xs),
                  stats::evaluate(stats::regression_atoms(model, after), xs), 1e-12);
    }
  }
  EXPECT_EQ(stats::highest_density_draw(draws),
            std::vector<double>(draws.values.begin(), draws.values.begin() + 15));
}

TEST(Relabel, SharedCellFallsBackToTheCheapestPermutation) {
  // Atoms 0 and 1 of the draw are both nearest to reference atom 0 (Voronoi cells are not a
  // permutation). Costs (distance over beta1, a, b, log sigma^2 of centred atoms) make
  // draw atom 1 -> reference 0 and draw atom 0 -> reference 1 the cheapest bijection.
  BayesMoe model;
  model.family = stats::ExpertFamily::linear;
  model.experts = 2;
  model.prior = {};
  const std::vector<double> reference = {0.0, 0.0, 0.0, 0.0, 0.0,  //
                                         0.0, 0.0, 4.0, 0.0, 0.0};
  const std::vector<double> draw = {0.0, 0.0, 1.5, 0.0, 0.0,  //
                                    0.0, 0.0, 0.2, 0.0, 0.0};
  // Distances: d(ref0, draw0) = 1.5, d(ref0, draw1) = 0.2, d(ref1, draw0) = 2.5,
  // d(ref1, draw1) = 3.8: both draw atoms are nearest ref0; identity costs 1.5 + 3.8, the swap
  // 0.2 + 2.5.
  const std::vector<uint32_t> perm = stats::match_atoms(model, draw, reference);
  EXPECT_EQ(perm, (std::vector<uint32_t>{1, 0}));
}

TEST(Relabel, PermuteAtomsKeepsTheLastGateAtZero) {
  const std::vector<double> moved = listed_as({2, 0, 1});
  const BayesMoe model = model3();
  EXPECT_EQ(moved[model.gate_slope(2)], 0.0);
  EXPECT_EQ(moved[model.gate_bias(2)], 0.0);
  // Atom 0 is the old atom 2 (gate zero) shifted by minus the old atom 1's gate.
  EXPECT_DOUBLE_EQ(moved[model.gate_slope(0)], 1.0);
  EXPECT_DOUBLE_EQ(moved[model.gate_bias(0)], 0.3);
  EXPECT_DOUBLE_EQ(moved[model.expert_slope(0)], 0.5);
}

}  // namespace
}  // namespace vkmoe::test
