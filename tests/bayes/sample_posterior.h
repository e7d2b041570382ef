// A small fixed posterior for the file tests (C++ round trip and the Python reader): layers 1
// and 3, two experts each, H = 6, I = 4, rank 3 (the second expert of layer 3 at rank 2).
#pragma once

#include "engine/bayes/posterior_file.h"

namespace vkmoe::bayes::test {

inline EigenPairs sample_pairs(std::int64_t n, std::int64_t r, double seed) {
  EigenPairs p;
  p.n = n;
  for (std::int64_t j = 0; j < r; ++j) p.values.push_back(seed * static_cast<double>(r - j) + 0.1);
  for (std::int64_t k = 0; k < n * r; ++k) {
    p.vectors.push_back(0.1 * static_cast<double>(k % 7) - 0.3 + 0.01 * seed);
  }
  return p;
}

// uneven: the second expert of layer 3 at rank 2; per_layer: one λ per layer.
inline Posterior sample_posterior(bool uneven = true, bool per_layer = true) {
  Posterior p;
  p.model_fingerprint = 0xfedcba9876543210ull;
  p.rank = 3;
  p.fisher = FisherType::kMc;
  p.prior_mean = PriorMean::kMap;
  p.temperature = 0.7;
  p.prior_precision = {0.25, 1.0 / 3.0};
  if (!per_layer) p.prior_precision = {0.5};
  for (int layer : {1, 3}) {
    LayerPosterior l;
    l.layer = layer;
    for (int e = 0; e < 2; ++e) {
      const std::int64_t r = uneven && layer == 3 && e == 1 ? 2 : 3;
      KronExpertFactors f;
      f.g = sample_pairs(6, r, 1.0 + layer + e);
      f.a = sample_pairs(4, r, 2.0 + layer - e);
      f.tokens = static_cast<double>(1000 * layer + e);
      l.experts.push_back(f);
    }
    p.layers.push_back(l);
  }
  return p;
}

}  // namespace vkmoe::bayes::test
