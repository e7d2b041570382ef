// One expert's KFAC curvature built streaming (DESIGN.md "Bayesian-MoE", factors and low rank):
// for each chunk of routed tokens, the Gram matrices of the down_proj outputs' gradients (G,
// H×H) and of the down_proj inputs (A, I×I) — what ops/expert_gram computes on the GPU — and
// the number of token occurrences behind them. Both factors are kept at rank r between chunks.
#pragma once

#include <cstdint>
#include <span>

#include "engine/bayes/kron_posterior.h"
#include "engine/bayes/low_rank_factor.h"

namespace vkmoe::bayes {

class ExpertFactorStream {
 public:
  // Throws BayesError for non-positive sizes or rank.
  ExpertFactorStream(std::int64_t h, std::int64_t i, std::int64_t rank);

  // gram_g: H×H, gram_a: I×I (row-major, f32 as the GPU writes them), tokens ≥ 0 behind them.
  // A chunk no token reached (tokens = 0) is skipped: its Gram matrices are zero.
  void add_chunk(std::span<const float> gram_g, std::span<const float> gram_a, std::int64_t tokens);

  std::int64_t tokens() const { return tokens_; }
  const LowRankFactor& g() const { return g_; }
  const LowRankFactor& a() const { return a_; }

  // The eigenpairs and M, ready for the posterior (before any chunk: rank-0 factors, M = 0).
  KronExpertFactors factors() const;

  // A stream as a checkpoint stored it; continues exactly as the original would have.
  ExpertFactorStream(LowRankFactor g, LowRankFactor a, std::int64_t tokens);

 private:
  LowRankFactor g_, a_;
  std::int64_t tokens_ = 0;
};

}  // namespace vkmoe::bayes
