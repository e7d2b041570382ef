// Picking the next token from one position's logits: greedy argmax at temperature 0, otherwise
// softmax(logits / T) → top-k → top-p (nucleus) → one draw from the renormalised remainder, as
// Hugging Face's TemperatureLogitsWarper → TopK → TopP chain and llama.cpp's sampler do.
//
// Pure host code on logits the forward has already downloaded (one row of vocab floats); a GPU
// sampling kernel that avoids the download is later work. Draws come from a seeded
// std::mt19937_64 turned into doubles by bit arithmetic (not std::uniform_real_distribution,
// whose output differs between standard libraries), so a seed reproduces a run anywhere.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace vkmoe::model {

struct SamplerOptions {
  float temperature = 0.8f;  // 0: greedy argmax (top_k, top_p and seed are ignored)
  uint32_t top_k = 40;       // 0: no top-k cut
  float top_p = 0.95f;       // ≥ 1: no nucleus cut
  uint64_t seed = 0;
};

struct TokenProbability {
  uint32_t id = 0;
  double probability = 0;
};

class Sampler {
 public:
  // Throws Error for a negative temperature or a top_p outside (0, 1] (a cut needs P > 0).
  explicit Sampler(const SamplerOptions& options);

  // The next token. Throws Error for empty logits or logits with a NaN.
  uint32_t sample(std::span<const float> logits);

  const SamplerOptions& options() const { return options_; }

 private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
};

// The index of the largest logit (the lowest index among equals).
uint32_t argmax(std::span<const float> logits);

// The distribution sample() draws from at temperature > 0: the tokens that survive top-k and
// top-p, most probable first (ties by lower id), probabilities renormalised to sum to 1.
// Exposed so tests can compare sampled frequencies with it.
std::vector<TokenProbability> truncated_distribution(std::span<const float> logits,
                                                     const SamplerOptions& options);

}  // namespace vkmoe::model
