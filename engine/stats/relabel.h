// Label switching: the posterior of a mixture is invariant under permutations of its atoms, so
// per-atom summaries are meaningless until each draw's atoms are matched to one reference.
// Each draw's atoms are assigned to the reference atoms by Voronoi cells (nearest reference
// atom, as in voronoi_loss.h: gates centred modulo translation, distance over (beta1, a, b),
// here with log sigma^2 added). When those cells form a permutation it is used; when two atoms
// share a cell, the permutation with the smallest total distance is used instead (it equals
// the Voronoi assignment whenever that is a permutation, since that assignment minimises
// every term of the sum). After permuting, the gates are translated so that the last atom's
// gate is zero again: the regression function and likelihood do not change.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/bayes_model.h"

namespace vkmoe::stats {

// perm[i] = the atom of `theta` that takes position i (matched to reference atom i).
std::vector<uint32_t> match_atoms(const BayesMoe& model, std::span<const double> theta,
                                  std::span<const double> reference);

// `theta` with its atoms reordered by `perm` and the gates translated (last gate zero).
std::vector<double> permute_atoms(const BayesMoe& model, std::span<const double> theta,
                                  std::span<const uint32_t> perm);

struct Relabelled {
  PosteriorDraws draws;         // same shape, every draw matched to the reference
  uint64_t permuted_draws = 0;  // draws whose permutation was not the identity
};

Relabelled relabel_draws(const BayesMoe& model, const PosteriorDraws& draws,
                         std::span<const double> reference);

// The draw of highest log density (the default reference), as a parameter vector.
std::vector<double> highest_density_draw(const PosteriorDraws& draws);

}  // namespace vkmoe::stats
