#include "engine/bayes/last_layer_curvature.h"

#include <string>

#include "engine/bayes/bayes_error.h"

namespace vkmoe::bayes {

std::vector<double> softmax_ggn(std::span<const double> features,
                                std::span<const double> probabilities, std::int64_t examples,
                                std::int64_t classes, std::int64_t hidden) {
  if (examples < 0 || classes < 1 || hidden < 1 ||
      features.size() != static_cast<std::size_t>(examples * hidden) ||
      probabilities.size() != static_cast<std::size_t>(examples * classes)) {
    throw BayesError("softmax_ggn: " + std::to_string(features.size()) + " feature and " +
                     std::to_string(probabilities.size()) + " probability entries for " +
                     std::to_string(examples) + " examples of " + std::to_string(classes) +
                     " classes and hidden size " + std::to_string(hidden));
  }
  const std::int64_t d = classes * hidden;
  std::vector<double> ggn(static_cast<std::size_t>(d * d), 0.0);
  std::vector<double> outer(static_cast<std::size_t>(hidden * hidden));
  for (std::int64_t n = 0; n < examples; ++n) {
    const double* phi = features.data() + n * hidden;
    const double* p = probabilities.data() + n * classes;
    // φφᵀ once per example; block (c, c') of the Kronecker product is B_cc' φφᵀ.
    for (std::int64_t i = 0; i < hidden; ++i) {
      for (std::int64_t j = 0; j < hidden; ++j) outer[i * hidden + j] = phi[i] * phi[j];
    }
    for (std::int64_t c = 0; c < classes; ++c) {
      for (std::int64_t e = 0; e < classes; ++e) {
        const double b = (c == e ? p[c] : 0.0) - p[c] * p[e];
        for (std::int64_t i = 0; i < hidden; ++i) {
          double* row = ggn.data() + (c * hidden + i) * d + e * hidden;
          const double* o = outer.data() + i * hidden;
          for (std::int64_t j = 0; j < hidden; ++j) row[j] += b * o[j];
        }
      }
    }
  }
  return ggn;
}

}  // namespace vkmoe::bayes
