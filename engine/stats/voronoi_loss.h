// Voronoi losses between a fitted mixing measure G and the true G* (Nguyen, Ho, Rinaldo 2024).
//
// Gates are compared modulo the softmax translation (beta1_i, beta0_i) -> (beta1_i + t1,
// beta0_i + t0) by centring both measures first:
//   beta0_i <- log softmax(beta0)_i          (the masses exp(beta0_i) sum to 1),
//   beta1_i <- beta1_i - sum_l exp(beta0_l) beta1_l   (mass-weighted mean slope 0).
// Then each fitted atom joins the cell A_j of its nearest true atom, distance taken over
// (beta1, a, b) (the gate bias is the mass, not a location), and
//   exact   = sum_{j: |A_j| = 1} exp(beta0_i) (|d beta1| + |d eta|)
//   overfit = sum_{j: |A_j| > 1} sum_{i in A_j} exp(beta0_i) (|d beta1|^2 + |d eta|^2)
//   mass    = sum_j |sum_{i in A_j} exp(beta0_i) - exp(beta0*_j)|
// with eta = (a, b). total = exact + overfit + mass is D_1 when k = k* and D_2 when k > k*.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/stats/moe_model.h"

namespace vkmoe::stats {

struct VoronoiLoss {
  double exact = 0;
  double overfit = 0;
  double mass = 0;
  double total() const { return exact + overfit + mass; }
  // For every fitted atom, the index of its true atom.
  std::vector<uint32_t> cell_of_atom;
  // Largest distance |d beta1| + |d eta| of an atom in an over-fitted cell (0 if none): the
  // quantity the theory says converges at n^-1/4 for strongly identifiable experts.
  double overfit_atom_distance = 0;
  // Largest such distance over exact-fitted cells (n^-1/2).
  double exact_atom_distance = 0;
};

// The centred copy of a measure (see above); the regression function does not change.
MoeModel centre_gates(const MoeModel& model);

// Both measures must have the same dimension; the number of atoms may differ.
VoronoiLoss voronoi_loss(const MoeModel& fitted, const MoeModel& truth);

// sqrt(mean over `points` of (f_fitted(x) - f_truth(x))^2): the L2(mu) regression-function
// error, with `points` (row-major, d per point) drawn from mu.
double function_l2_error(const MoeModel& fitted, const MoeModel& truth,
                         const std::vector<double>& points);

}  // namespace vkmoe::stats
