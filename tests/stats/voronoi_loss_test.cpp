// Voronoi losses on cases worked out by hand (truth: two sigmoid experts in d = 1 with equal
// masses 1/2 and mass-weighted mean gate slope 0, so centring leaves it as it is).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/stats/voronoi_loss.h"

namespace vkmoe::stats {
namespace {

ExpertAtom atom(double beta1, double beta0, double a, double b) {
  return {{beta1}, beta0, {a}, b};
}

MoeModel model(std::vector<ExpertAtom> atoms) {
  MoeModel m;
  m.family = ExpertFamily::sigmoid;
  m.dimension = 1;
  m.atoms = std::move(atoms);
  return m;
}

const MoeModel kTruth = model({atom(1, 0, 2, 0), atom(-1, 0, -1, 1)});

TEST(VoronoiLoss, ZeroAtTheTruthAndUnderGateTranslation) {
  EXPECT_DOUBLE_EQ(voronoi_loss(kTruth, kTruth).total(), 0.0);
  const MoeModel moved = model({atom(1 + 3, 0 + 2, 2, 0), atom(-1 + 3, 0 + 2, -1, 1)});
  const VoronoiLoss loss = voronoi_loss(moved, kTruth);
  EXPECT_NEAR(loss.total(), 0.0, 1e-12);
  EXPECT_EQ(loss.cell_of_atom, (std::vector<uint32_t>{0, 1}));
}

TEST(VoronoiLoss, ExactFittedCellsCountLinearDistances) {
  // Expert of atom 0 off by (0.3, -0.4): |d eta| = 0.5, mass 1/2.
  const VoronoiLoss loss = voronoi_loss(model({atom(1, 0, 2.3, -0.4), atom(-1, 0, -1, 1)}), kTruth);
  EXPECT_NEAR(loss.exact, 0.25, 1e-12);
  EXPECT_NEAR(loss.overfit, 0.0, 1e-12);
  EXPECT_NEAR(loss.mass, 0.0, 1e-12);
  EXPECT_NEAR(loss.exact_atom_distance, 0.5, 1e-12);
}

TEST(VoronoiLoss, OverFittedCellsCountSquaredDistances) {
  // Atom 0 split into masses 0.2 and 0.3 (mean slope still 0); the gate biases carry an
  // arbitrary common shift 1.7.
  const double shift = 1.7;
  const MoeModel fitted =
      model({atom(1, std::log(0.2) + shift, 2.1, 0), atom(1, std::log(0.3) + shift, 1.8, 0.1),
             atom(-1, std::log(0.5) + shift, -1, 1)});
  const VoronoiLoss loss = voronoi_loss(fitted, kTruth);
  EXPECT_EQ(loss.cell_of_atom, (std::vector<uint32_t>{0, 0, 1}));
  // 0.2 * 0.1^2 + 0.3 * (0.2^2 + 0.1^2)
  EXPECT_NEAR(loss.overfit, 0.017, 1e-12);
  EXPECT_NEAR(loss.exact, 0.0, 1e-12);
  EXPECT_NEAR(loss.mass, 0.0, 1e-12);
  EXPECT_NEAR(loss.overfit_atom_distance, std::sqrt(0.05), 1e-12);
}

TEST(VoronoiLoss, WrongMassesAlsoMoveTheCentredSlopes) {
  // Masses 0.6 / 0.4: the mass-weighted mean slope 0.2 is removed, so both slopes are off by
  // 0.2: exact = 0.6 * 0.2 + 0.4 * 0.2, mass = 0.1 + 0.1.
  const MoeModel fitted = model({atom(1, std::log(0.6), 2, 0), atom(-1, std::log(0.4), -1, 1)});
  const VoronoiLoss loss = voronoi_loss(fitted, kTruth);
  EXPECT_NEAR(loss.exact, 0.2, 1e-12);
  EXPECT_NEAR(loss.mass, 0.2, 1e-12);
  EXPECT_NEAR(loss.total(), 0.4, 1e-12);
}

TEST(VoronoiLoss, AnEmptyCellCountsItsWholeMass) {
  // One atom equal to truth atom 0: centred it has mass 1 and slope 0 (|d beta1| = 1); the cell
  // of atom 1 is empty.
  const VoronoiLoss loss = voronoi_loss(model({atom(1, 0, 2, 0)}), kTruth);
  EXPECT_EQ(loss.cell_of_atom, (std::vector<uint32_t>{0}));
  EXPECT_NEAR(loss.exact, 1.0, 1e-12);
  EXPECT_NEAR(loss.mass, 1.0, 1e-12);
}

TEST(VoronoiLoss, CentringKeepsTheRegressionFunction) {
  const MoeModel fitted =
      model({atom(0.7, 2.0, 1, 0), atom(-0.2, -1.0, 3, 1), atom(2, 0.5, -1, 2)});
  const MoeModel centred = centre_gates(fitted);
  double mass = 0;
  for (const ExpertAtom& a : centred.atoms) mass += std::exp(a.gate_bias);
  EXPECT_NEAR(mass, 1.0, 1e-12);
  for (double x : {-1.0, -0.3, 0.0, 0.8}) {
    EXPECT_NEAR(evaluate(centred, {&x, 1}), evaluate(fitted, {&x, 1}), 1e-12);
  }
}

TEST(FunctionError, IsTheRootMeanSquareDifference) {
  MoeModel line = model({atom(0, 0, 1, 0)});
  line.family = ExpertFamily::linear;
  MoeModel shifted = line;
  shifted.atoms[0].expert_bias = 0.5;
  const std::vector<double> points = {-1.0, 0.0, 0.25, 0.9};
  EXPECT_NEAR(function_l2_error(shifted, line, points), 0.5, 1e-12);
  EXPECT_NEAR(function_l2_error(line, line, points), 0.0, 1e-15);
}

}  // namespace
}  // namespace vkmoe::stats
