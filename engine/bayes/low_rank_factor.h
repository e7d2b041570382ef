// One KFAC factor (A = Σ a aᵀ or G = Σ g gᵀ of one expert) kept as its top-r eigenpairs, built
// streaming (DESIGN.md "Bayesian-MoE", low rank): the factor starts at zero, and each dense
// chunk (the Gram matrix of a batch of routed tokens) is merged as
//   Q Λ Qᵀ ← top_r(Q Λ Qᵀ + chunk).
// Between chunks only O(n·r) is held; O(n²) only during a merge. What a truncation drops is
// recorded, so the error of the streamed factor is known:
//   trace(stored) + dropped_mass() = trace(Σ chunks),
// and for positive semi-definite chunks Σ chunks − stored is positive semi-definite with
// nuclear norm dropped_mass().
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/bayes/symmetric_eigen.h"

namespace vkmoe::bayes {

class LowRankFactor {
 public:
  // n×n factor kept at rank min(rank, n); throws BayesError for n < 1 or rank < 1.
  LowRankFactor(std::int64_t n, std::int64_t rank);

  // Merges a dense symmetric n×n row-major chunk; throws BayesError for a wrong size or
  // non-finite entries (the factor is unchanged then).
  void add_chunk(std::span<const double> chunk);
  void add_chunk(std::span<const float> chunk);  // the f32 Gram matrices of ops/expert_gram

  std::int64_t n() const { return n_; }
  std::int64_t rank() const { return rank_; }
  std::int64_t chunks() const { return chunks_; }
  // count() == rank() once a chunk has been merged; 0 before.
  const EigenPairs& pairs() const { return pairs_; }
  // Σ of the eigenvalues truncated away by every merge.
  double dropped_mass() const { return dropped_mass_; }

  // Q Λ Qᵀ as a dense n×n row-major matrix (for checks and small factors).
  std::vector<double> dense() const;

  // A factor as a checkpoint stored it (engine/bayes/fit_checkpoint.h): merging further chunks
  // into it gives, bit for bit, what the uninterrupted stream would have. Throws BayesError when
  // the pairs do not fit n and rank.
  static LowRankFactor restore(std::int64_t n, std::int64_t rank, EigenPairs pairs,
                               std::int64_t chunks, double dropped_mass);

 private:
  std::int64_t n_ = 0, rank_ = 0, chunks_ = 0;
  EigenPairs pairs_;
  double dropped_mass_ = 0;
};

}  // namespace vkmoe::bayes
