#include "engine/bayes/expert_factor_stream.h"

#include <string>
#include <utility>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

ExpertFactorStream::ExpertFactorStream(std::int64_t h, std::int64_t i, std::int64_t rank)
    : g_(h, rank), a_(i, rank) {}

ExpertFactorStream::ExpertFactorStream(LowRankFactor g, LowRankFactor a, std::int64_t tokens)
    : g_(std::move(g)), a_(std::move(a)), tokens_(tokens) {
  if (tokens < 0) {
    throw BayesError("ExpertFactorStream: " + std::to_string(tokens) + " tokens, expected ≥ 0");
  }
}

void ExpertFactorStream::add_chunk(std::span<const float> gram_g, std::span<const float> gram_a,
                                   std::int64_t tokens) {
  if (tokens < 0) {
    throw BayesError("ExpertFactorStream::add_chunk: " + std::to_string(tokens) +
                     " tokens, expected ≥ 0");
  }
  if (tokens == 0) return;
  // Both sizes are checked before either factor changes, so a bad chunk leaves the stream as is.
  if (gram_g.size() != static_cast<std::size_t>(g_.n() * g_.n()) ||
      gram_a.size() != static_cast<std::size_t>(a_.n() * a_.n())) {
    throw BayesError("ExpertFactorStream::add_chunk: Gram matrices of " +
                     std::to_string(gram_g.size()) + " and " + std::to_string(gram_a.size()) +
                     " entries, expected " + std::to_string(g_.n()) + "² and " +
                     std::to_string(a_.n()) + "²");
  }
  g_.add_chunk(gram_g);
  a_.add_chunk(gram_a);
  tokens_ += tokens;
}

KronExpertFactors ExpertFactorStream::factors() const {
  KronExpertFactors f;
  f.g = g_.pairs();
  f.a = a_.pairs();
  f.g.n = g_.n();
  f.a.n = a_.n();
  f.tokens = static_cast<double>(tokens_);
  return f;
}

}  // namespace vkmoe::bayes
