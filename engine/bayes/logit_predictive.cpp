#include "engine/bayes/logit_predictive.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "engine/bayes/bayes_error.h"
#include "engine/bayes/symmetric_eigen.h"

namespace vkmoe::bayes {

namespace {

void softmax_into(std::span<const double> z, std::vector<double>& p) {
  const double top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (std::size_t c = 0; c < z.size(); ++c) sum += p[c] = std::exp(z[c] - top);
  for (double& x : p) x /= sum;
}

// SplitMix64 and Box–Muller, written out so that a seed means the same draws with every
// standard library (std::normal_distribution is implementation-defined).
class NormalStream {
 public:
  explicit NormalStream(std::uint64_t seed) : state_(seed) {}
  double next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
    const double u2 = static_cast<double>(bits() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2.0 * std::numbers::pi * u2);
    has_spare_ = true;
    return radius * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

}  // namespace

std::vector<double> logit_covariance(std::span<const ExpertLogitJacobians> experts,
                                     std::int64_t classes) {
  const auto c_count = static_cast<std::size_t>(classes);
  std::vector<double> sigma(c_count * c_count, 0.0);
  for (std::size_t e = 0; e < experts.size(); ++e) {
    const ExpertLogitJacobians& x = experts[e];
    if (x.factors == nullptr || x.per_class.size() != c_count) {
      throw BayesError("logit_covariance: expert " + std::to_string(e) + " has " +
                       std::to_string(x.per_class.size()) + " Jacobians, expected " +
                       std::to_string(classes));
    }
    for (std::size_t c = 0; c < c_count; ++c) {
      for (std::size_t d = c; d < c_count; ++d) {
        const double v = posterior_covariance(*x.factors, x.scale, x.per_class[c], x.per_class[d]);
        sigma[c * c_count + d] += v;
        if (d != c) sigma[d * c_count + c] += v;
      }
    }
  }
  return sigma;
}

std::vector<double> predictive_probabilities(std::span<const double> mean,
                                             std::span<const double> covariance,
                                             const PredictiveOptions& options) {
  const std::size_t c_count = mean.size();
  if (c_count == 0 || covariance.size() != c_count * c_count) {
    throw BayesError("predictive_probabilities: " + std::to_string(c_count) + " logits and " +
                     std::to_string(covariance.size()) +
                     " covariance entries, expected C ≥ 1 and C·C");
  }
  for (double x : mean) {
    if (!std::isfinite(x)) throw BayesError("predictive_probabilities: a logit is not finite");
  }
  std::vector<double> p(c_count);
  if (options.method == LogitIntegration::kProbit) {
    std::vector<double> z(c_count);
    for (std::size_t c = 0; c < c_count; ++c) {
      const double var = std::max(covariance[c * c_count + c], 0.0);
      z[c] = mean[c] / std::sqrt(1.0 + std::numbers::pi / 8.0 * var);
    }
    softmax_into(z, p);
    return p;
  }
  if (options.samples < 1) throw BayesError("predictive_probabilities: samples must be ≥ 1");
  // z = μ + Q √Λ ε: the eigen-square-root works for a singular Σ, where Cholesky would not.
  const EigenPairs eig = symmetric_eigen(covariance, static_cast<std::int64_t>(c_count));
  std::vector<double> root(c_count * c_count);
  for (std::size_t i = 0; i < c_count; ++i) {
    for (std::size_t k = 0; k < c_count; ++k) {
      root[i * c_count + k] =
          eig.vectors[i * c_count + k] * std::sqrt(std::max(eig.values[k], 0.0));
    }
  }
  NormalStream normal(options.seed);
  std::vector<double> eps(c_count), z(c_count), draw(c_count), sum(c_count, 0.0);
  for (std::int64_t s = 0; s < options.samples; ++s) {
    for (double& x : eps) x = normal.next();
    for (std::size_t i = 0; i < c_count; ++i) {
      double v = mean[i];
      for (std::size_t k = 0; k < c_count; ++k) v += root[i * c_count + k] * eps[k];
      z[i] = v;
    }
    softmax_into(z, draw);
    for (std::size_t c = 0; c < c_count; ++c) sum[c] += draw[c];
  }
  for (std::size_t c = 0; c < c_count; ++c) p[c] = sum[c] / static_cast<double>(options.samples);
  return p;
}

}  // namespace vkmoe::bayes
