#include "engine/bayes/low_rank_factor.h"

#include <algorithm>
#include <string>
#include <utility>

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

LowRankFactor LowRankFactor::restore(std::int64_t n, std::int64_t rank, EigenPairs pairs,
                                     std::int64_t chunks, double dropped_mass) {
  LowRankFactor f(n, rank);
  const auto k = static_cast<std::size_t>(pairs.count());
  if (pairs.n != n || pairs.count() > f.rank_ ||
      pairs.vectors.size() != k * static_cast<std::size_t>(n) || chunks < 0 ||
      (chunks == 0 && k != 0)) {
    throw BayesError("LowRankFactor::restore: " + std::to_string(k) + " pairs of size " +
                     std::to_string(pairs.n) + " after " + std::to_string(chunks) +
                     " chunks do not fit a factor of size " + std::to_string(n) + " and rank " +
                     std::to_string(f.rank_));
  }
  f.pairs_ = std::move(pairs);
  f.chunks_ = chunks;
  f.dropped_mass_ = dropped_mass;
  return f;
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
