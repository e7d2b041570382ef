#include "engine/bayes/sampler_layout.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

// Columns of `pairs` into the [n, rank] block at `out`, the columns beyond pairs.count() zero.
void pad_columns(const EigenPairs& pairs, std::int64_t rank, float* out) {
  const std::int64_t k = pairs.count();
  for (std::int64_t row = 0; row < pairs.n; ++row) {
    for (std::int64_t c = 0; c < rank; ++c) {
      out[row * rank + c] = c < k ? static_cast<float>(pairs.vectors[row * k + c]) : 0.0f;
    }
  }
}

}  // namespace

SamplerBuffers pack_for_sampler(std::span<const KronExpertFactors> experts, std::int64_t rank) {
  if (experts.empty() || rank < 1) {
    throw BayesError("pack_for_sampler: expected at least one expert and rank ≥ 1");
  }
  SamplerBuffers b;
  b.experts = static_cast<std::int64_t>(experts.size());
  b.h = experts[0].h();
  b.i = experts[0].i();
  b.rank = rank;
  const std::int64_t spectrum = 2 * rank + 1;
  b.q_g.assign(static_cast<std::size_t>(b.experts * b.h * rank), 0.0f);
  b.q_a.assign(static_cast<std::size_t>(b.experts * b.i * rank), 0.0f);
  b.spectra.assign(static_cast<std::size_t>(b.experts * spectrum), 0.0f);
  for (std::int64_t e = 0; e < b.experts; ++e) {
    const KronExpertFactors& f = experts[e];
    check_posterior(f, {1.0, 1.0});
    if (f.h() != b.h || f.i() != b.i || f.g.count() > rank || f.a.count() > rank) {
      throw BayesError("pack_for_sampler: expert " + std::to_string(e) + " is " +
                       std::to_string(f.h()) + "×" + std::to_string(f.i()) + " at ranks " +
                       std::to_string(f.g.count()) + ", " + std::to_string(f.a.count()) +
                       "; expected " + std::to_string(b.h) + "×" + std::to_string(b.i) +
                       " at ranks ≤ " + std::to_string(rank));
    }
    pad_columns(f.g, rank, &b.q_g[e * b.h * rank]);
    pad_columns(f.a, rank, &b.q_a[e * b.i * rank]);
    float* s = &b.spectra[e * spectrum];
    for (std::int64_t k = 0; k < f.g.count(); ++k) s[k] = static_cast<float>(f.g.values[k]);
    for (std::int64_t k = 0; k < f.a.count(); ++k) s[rank + k] = static_cast<float>(f.a.values[k]);
    s[2 * rank] = static_cast<float>(f.tokens);
  }
  return b;
}

}  // namespace vkmoe::bayes
