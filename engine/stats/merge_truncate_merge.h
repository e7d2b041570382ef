// Merge-truncate-merge (MTM; Guha, Ho & Nguyen 2021, "On posterior contraction of parameters
// and interpretability in Bayesian mixture modeling", Bernoulli 27(4)) post-processing of the
// atoms of an over-fitted mixture: the number of atoms left is an estimate of the number of
// components. For one discrete measure G = sum_i p_i delta_{theta_i}:
//   1. merge: visit the atoms by decreasing weight; an atom within `merge_distance` of an atom
//      already kept joins the nearest such one (weights add, the location becomes their
//      weighted mean), otherwise it is kept;
//   2. truncate: atoms of weight below `min_weight` are removed and their weight goes to the
//      nearest atom left (the heaviest atom always stays), so the total weight is unchanged;
//   3. merge again, as in 1.
// The paper's thresholds shrink with n (merge at omega_n, truncate below a power of omega_n);
// mtm_thresholds gives ours. Its third stage compares weight-scaled distances; we merge by the
// plain distance again, which is the same rule whenever the kept weights are bounded below,
// which truncation ensures.
//
// For the softmax-gated MoE (bayes_model.h) an atom's location is (beta1_i, a_i, b_i) with the
// last gate at zero, and its weight is the gate averaged over the data's covariates,
// mean_s softmax_i(x_s). Why these: two atoms with the same (beta1, a, b) are exactly one atom
// whose exp(beta0) is their sum, and its averaged gate is then the sum of theirs, so merging at
// distance 0 leaves the model unchanged; beta0 itself only sets a weight, so it is no location.
// The averaged gate (rather than softmax(beta0) at one x) is how much of the data an expert
// carries, so truncation removes experts that explain almost nothing where the data are.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/stats/bayes_hmc.h"
#include "engine/stats/bayes_model.h"
#include "engine/stats/simulate.h"

namespace vkmoe::stats {

struct WeightedAtom {
  double weight = 0;
  std::vector<double> location;
};

struct MtmThresholds {
  double merge_distance = 0;  // omega: atoms closer than this are merged
  double min_weight = 0;      // atoms lighter than this are truncated
};

// Stage 1 (and 3): merge atoms within `distance` (Euclidean) of a heavier kept atom.
std::vector<WeightedAtom> merge_atoms(std::vector<WeightedAtom> atoms, double distance);

// Stage 2: atoms lighter than `min_weight` give their weight to the nearest atom kept.
std::vector<WeightedAtom> truncate_atoms(std::vector<WeightedAtom> atoms, double min_weight);

// The three stages.
std::vector<WeightedAtom> merge_truncate_merge(std::vector<WeightedAtom> atoms,
                                               const MtmThresholds& thresholds);

// omega_n = merge_scale (log n / n)^(1/4) and min weight = weight_scale omega_n^2: the n^-1/4
// is the contraction rate of the atoms of an over-fitted mixture (Nguyen 2013; Ho & Nguyen
// 2016), the log factor keeps omega_n above it, and a weight of order omega_n^2 is what such an
// atom can carry undetected (the paper's truncation at omega_n^r with r = 2).
MtmThresholds mtm_thresholds(uint32_t samples, double merge_scale, double weight_scale);

// The atoms of one parameter vector of `model`, weighted by their averaged gates on `data`.
std::vector<WeightedAtom> moe_atoms(const BayesMoe& model, const Dataset& data,
                                    std::span<const double> theta);

struct MtmKPosterior {
  std::vector<double> probability;  // fraction of draws left with K atoms, K = 1..model.experts
  uint32_t mode_k = 0;              // the most frequent K (the smaller on a tie)
};

// MTM on every draw (all chains) of an over-fitted model's posterior: the distribution of the
// number of atoms left, and its mode.
MtmKPosterior mtm_k_posterior(const BayesMoe& model, const Dataset& data,
                              const PosteriorDraws& draws, const MtmThresholds& thresholds);

}  // namespace vkmoe::stats
