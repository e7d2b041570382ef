#include "engine/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::eval {

std::size_t predicted_class(std::span<const double> probabilities) {
  return static_cast<std::size_t>(std::max_element(probabilities.begin(), probabilities.end()) -
                                  probabilities.begin());
}

std::size_t confidence_bin(double confidence, std::size_t bins) {
  const auto count = static_cast<double>(bins);
  // The first guess can be one off where confidence·B rounds across an integer; the edges
  // themselves are b/B as a double, so a confidence equal to an edge lands below it.
  auto b = static_cast<std::ptrdiff_t>(std::ceil(confidence * count)) - 1;
  b = std::clamp<std::ptrdiff_t>(b, 0, static_cast<std::ptrdiff_t>(bins) - 1);
  while (b > 0 && confidence <= static_cast<double>(b) / count) --b;
  while (b + 1 < static_cast<std::ptrdiff_t>(bins) &&
         confidence > static_cast<double>(b + 1) / count) {
    ++b;
  }
  return static_cast<std::size_t>(b);
}

ClassificationMetrics classification_metrics(std::span<const std::vector<double>> probabilities,
                                             std::span<const int> labels, std::size_t bins) {
  if (probabilities.size() != labels.size()) {
    throw Error("metrics: " + std::to_string(probabilities.size()) + " probability vectors but " +
                std::to_string(labels.size()) + " labels");
  }
  if (probabilities.empty()) throw Error("metrics: no examples");
  if (bins == 0) throw Error("metrics: ECE needs at least one bin");

  ClassificationMetrics m;
  m.examples = probabilities.size();
  m.bins.resize(bins);
  for (std::size_t b = 0; b < bins; ++b) {
    m.bins[b].lower = static_cast<double>(b) / static_cast<double>(bins);
    m.bins[b].upper = static_cast<double>(b + 1) / static_cast<double>(bins);
  }
  std::size_t correct = 0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const std::vector<double>& p = probabilities[i];
    const std::string where = "metrics: example " + std::to_string(i);
    if (p.empty()) throw Error(where + " has no classes");
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= p.size()) {
      throw Error(where + ": label " + std::to_string(labels[i]) + " is outside its " +
                  std::to_string(p.size()) + " classes");
    }
    for (double v : p) {
      if (!std::isfinite(v)) throw Error(where + " has a probability that is not finite");
    }
    const auto y = static_cast<std::size_t>(labels[i]);
    const std::size_t predicted = predicted_class(p);
    const bool hit = predicted == y;
    correct += hit ? 1 : 0;
    m.nll -= std::log(std::max(p[y], kProbabilityFloor));
    for (std::size_t c = 0; c < p.size(); ++c) {
      const double target = c == y ? 1.0 : 0.0;
      m.brier += (p[c] - target) * (p[c] - target);
    }
    ReliabilityBin& bin = m.bins[confidence_bin(p[predicted], bins)];
    ++bin.count;
    bin.mean_confidence += p[predicted];  // sums until the end
    bin.accuracy += hit ? 1.0 : 0.0;
  }
  const auto n = static_cast<double>(m.examples);
  m.accuracy = static_cast<double>(correct) / n;
  m.nll /= n;
  m.brier /= n;
  for (ReliabilityBin& bin : m.bins) {
    if (bin.count == 0) continue;
    const auto count = static_cast<double>(bin.count);
    bin.mean_confidence /= count;
    bin.accuracy /= count;
    m.ece += count / n * std::abs(bin.accuracy - bin.mean_confidence);
  }
  return m;
}

}  // namespace vkmoe::eval
