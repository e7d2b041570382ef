#include "engine/eval/temperature_scaling.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::eval {

namespace {

// Mean −log softmax(β z)_y = log(1 + Σ_{c≠m} e^{β(z_c − z_m)}) + β(z_m − z_y) with m the top
// class; log1p keeps the tiny losses of confident right answers (1e-40 rather than 0), so the
// NLL still falls as T → 0 on separable data instead of going flat.
double mean_nll(std::span<const std::vector<double>> logits, std::span<const int> labels,
                double beta) {
  double total = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const std::vector<double>& z = logits[i];
    const auto top = static_cast<std::size_t>(std::max_element(z.begin(), z.end()) - z.begin());
    double rest = 0;
    for (std::size_t c = 0; c < z.size(); ++c) {
      if (c != top) rest += std::exp(beta * (z[c] - z[top]));
    }
    total += std::log1p(rest) + beta * (z[top] - z[static_cast<std::size_t>(labels[i])]);
  }
  return total / static_cast<double>(logits.size());
}

}  // namespace

TemperatureFit fit_temperature(std::span<const std::vector<double>> logits,
                               std::span<const int> labels) {
  if (logits.empty()) throw Error("temperature scaling: no items");
  if (logits.size() != labels.size()) {
    throw Error("temperature scaling: " + std::to_string(logits.size()) + " logit vectors but " +
                std::to_string(labels.size()) + " labels");
  }
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (labels[i] < 0 || static_cast<std::size_t>(labels[i]) >= logits[i].size()) {
      throw Error("temperature scaling: item " + std::to_string(i) + " has label " +
                  std::to_string(labels[i]) + " of " + std::to_string(logits[i].size()) +
                  " classes");
    }
    for (double v : logits[i]) {
      if (!std::isfinite(v)) {
        throw Error("temperature scaling: item " + std::to_string(i) + " has a non-finite logit");
      }
    }
  }
  // Golden section over u = log β; 80 steps shrink the bracket by 0.618^80 ≈ 2e-17 of its width.
  const double inv_phi = (std::sqrt(5.0) - 1) / 2;
  double lo = -std::log(kMaxTemperature), hi = -std::log(kMinTemperature);
  double x1 = hi - inv_phi * (hi - lo), x2 = lo + inv_phi * (hi - lo);
  double f1 = mean_nll(logits, labels, std::exp(x1)), f2 = mean_nll(logits, labels, std::exp(x2));
  for (int step = 0; step < 80; ++step) {
    if (f1 <= f2) {
      hi = x2;
      x2 = x1;
      f2 = f1;
      x1 = hi - inv_phi * (hi - lo);
      f1 = mean_nll(logits, labels, std::exp(x1));
    } else {
      lo = x1;
      x1 = x2;
      f1 = f2;
      x2 = lo + inv_phi * (hi - lo);
      f2 = mean_nll(logits, labels, std::exp(x2));
    }
  }
  TemperatureFit fit;
  const double beta = std::exp((lo + hi) / 2);
  fit.temperature = 1 / beta;
  fit.nll = mean_nll(logits, labels, beta);
  fit.nll_at_one = mean_nll(logits, labels, 1.0);
  return fit;
}

std::vector<double> tempered_softmax(std::span<const double> logits, double temperature) {
  if (logits.empty()) return {};
  const double top = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p;
  double sum = 0;
  for (double v : logits) {
    p.push_back(std::exp((v - top) / temperature));
    sum += p.back();
  }
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace vkmoe::eval
