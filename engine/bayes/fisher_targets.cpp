#include "engine/bayes/fisher_targets.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<double> label_probabilities(std::span<const float> label_logits) {
  std::vector<double> p(label_logits.begin(), label_logits.end());
  if (p.empty()) return p;
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& x : p) {
    x = std::exp(x - top);
    sum += x;
  }
  for (double& x : p) x /= sum;
  return p;
}

double counter_uniform(std::uint64_t seed, std::uint64_t index) {
  const std::uint64_t bits = splitmix64(splitmix64(seed) ^ index);
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::int64_t sample_label(std::span<const double> p, double u) {
  double cumulative = 0;
  std::int64_t last = 0;
  for (std::size_t c = 0; c < p.size(); ++c) {
    if (p[c] <= 0) continue;
    last = static_cast<std::int64_t>(c);
    cumulative += p[c];
    if (u < cumulative) return last;
  }
  return last;
}

std::vector<std::vector<float>> fisher_targets(FisherType fisher, std::span<const double> p,
                                               std::int64_t label, std::uint64_t seed,
                                               std::uint64_t example_index) {
  const auto classes = static_cast<std::int64_t>(p.size());
  if (label < 0 || label >= classes) {
    throw BayesError("fisher_targets: label " + std::to_string(label) + " outside [0, " +
                     std::to_string(classes) + ")");
  }
  for (double x : p) {
    if (!std::isfinite(x)) throw BayesError("fisher_targets: a label probability is not finite");
  }
  const auto one_hot = [&](std::int64_t c, float value) {
    std::vector<float> t(p.size(), 0.0f);
    t[static_cast<std::size_t>(c)] = value;
    return t;
  };
  switch (fisher) {
    case FisherType::kExact: {
      std::vector<std::vector<float>> passes;
      for (std::int64_t c = 0; c < classes; ++c) {
        passes.push_back(one_hot(c, static_cast<float>(std::sqrt(p[static_cast<std::size_t>(c)]))));
      }
      return passes;
    }
    case FisherType::kMc:
      return {one_hot(sample_label(p, counter_uniform(seed, example_index)), 1.0f)};
    case FisherType::kEmpirical:
      return {one_hot(label, 1.0f)};
  }
  throw BayesError("fisher_targets: unknown Fisher type");
}

}  // namespace vkmoe::bayes
