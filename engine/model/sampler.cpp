#include "engine/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::model {

namespace {

void check_logits(std::span<const float> logits) {
  if (logits.empty()) throw Error("sampler: no logits to sample from");
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) {
      throw Error("sampler: logit " + std::to_string(i) + " is NaN");
    }
  }
}

// A uniform double in [0, 1) from the top 53 bits of one 64-bit draw.
double uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

}  // namespace

uint32_t argmax(std::span<const float> logits) {
  check_logits(logits);
  return static_cast<uint32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

std::vector<TokenProbability> truncated_distribution(std::span<const float> logits,
                                                     const SamplerOptions& options) {
  check_logits(logits);
  const double inv_t = 1.0 / static_cast<double>(options.temperature);
  const double top = static_cast<double>(*std::max_element(logits.begin(), logits.end()));
  std::vector<TokenProbability> tokens(logits.size());
  for (std::size_t i = 0; i < logits.size(); ++i) {
    // Shifted by the largest logit so the largest term is exp(0) = 1 (no overflow); -inf → 0.
    tokens[i] = {static_cast<uint32_t>(i),
                 std::exp((static_cast<double>(logits[i]) - top) * inv_t)};
  }
  const auto more_probable = [](const TokenProbability& a, const TokenProbability& b) {
    return a.probability != b.probability ? a.probability > b.probability : a.id < b.id;
  };
  // Top-k: only the k most probable need sorting.
  std::size_t keep = tokens.size();
  if (options.top_k > 0 && options.top_k < keep) keep = options.top_k;
  std::partial_sort(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(keep),
                    tokens.end(), more_probable);
  tokens.resize(keep);
  // Softmax over the vocabulary restricted to the top-k (the same as renormalising the full
  // softmax's top-k): the nucleus is taken on these probabilities, as Hugging Face does.
  double sum = 0;
  for (const TokenProbability& t : tokens) sum += t.probability;
  for (TokenProbability& t : tokens) t.probability /= sum;
  // Top-p: the smallest prefix whose mass reaches P, at least one token.
  if (options.top_p < 1.0f) {
    const auto p = static_cast<double>(options.top_p);
    double mass = 0;
    std::size_t n = 0;
    while (n < tokens.size()) {
      mass += tokens[n++].probability;
      if (mass >= p) break;
    }
    tokens.resize(n);
    for (TokenProbability& t : tokens) t.probability /= mass;
  }
  return tokens;
}

Sampler::Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {
  if (!(options.temperature >= 0.0f) || !std::isfinite(options.temperature)) {
    throw Error("sampler: temperature " + std::to_string(options.temperature) +
                " (expected a finite value ≥ 0)");
  }
  if (!(options.top_p > 0.0f && options.top_p <= 1.0f)) {
    throw Error("sampler: top-p " + std::to_string(options.top_p) + " (expected 0 < P ≤ 1)");
  }
}

uint32_t Sampler::sample(std::span<const float> logits) {
  if (options_.temperature == 0.0f) return argmax(logits);
  const std::vector<TokenProbability> tokens = truncated_distribution(logits, options_);
  const double u = uniform(rng_);
  double cumulative = 0;
  for (const TokenProbability& t : tokens) {
    cumulative += t.probability;
    if (u < cumulative) return t.id;
  }
  return tokens.back().id;  // u within rounding of 1
}

}  // namespace vkmoe::model
