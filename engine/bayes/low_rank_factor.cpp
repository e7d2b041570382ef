#include "engine/bayes/low_rank_factor.h"

#include <algorithm>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

LowRankFactor::LowRankFactor(std::int64_t n, std::int64_t rank) : n_(n) {
  if (n < 1 || rank < 1) {
    throw BayesError("LowRankFactor: size " + std::to_string(n) + " and rank " +
                     std::to_string(rank) + " must both be at least 1");
  }
  rank_ = std::min(rank, n);
  pairs_.n = n;
}

std::vector<double> LowRankFactor::dense() const {
  std::vector<double> s(static_cast<std::size_t>(n_ * n_), 0.0);
  const std::int64_t k = pairs_.count();
  for (std::int64_t i = 0; i < n_; ++i) {
    for (std::int64_t j = 0; j <= i; ++j) {
      double x = 0;
      for (std::int64_t c = 0; c < k; ++c) {
        x += pairs_.vectors[i * k + c] * pairs_.values[c] * pairs_.vectors[j * k + c];
      }
      s[i * n_ + j] = s[j * n_ + i] = x;
    }
  }
  return s;
}

void LowRankFactor::add_chunk(std::span<const double> chunk) {
  if (chunk.size() != static_cast<std::size_t>(n_ * n_)) {
    throw BayesError("LowRankFactor::add_chunk: chunk has " + std::to_string(chunk.size()) +
                     " entries, expected " + std::to_string(n_) + "×" + std::to_string(n_));
  }
  std::vector<double> merged = dense();
  for (std::size_t k = 0; k < merged.size(); ++k) merged[k] += chunk[k];
  // What truncation drops is the trace beyond the kept eigenvalues: trace = Σ all eigenvalues.
  double dropped = 0;
  for (std::int64_t i = 0; i < n_; ++i) dropped += merged[i * n_ + i];
  EigenPairs top = symmetric_eigen_top(merged, n_, rank_);
  for (double v : top.values) dropped -= v;
  pairs_ = std::move(top);
  dropped_mass_ += dropped;
  ++chunks_;
}

void LowRankFactor::add_chunk(std::span<const float> chunk) {
  std::vector<double> wide(chunk.begin(), chunk.end());
  add_chunk(std::span<const double>(wide));
}

}  // namespace vkmoe::bayes
