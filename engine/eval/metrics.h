// Calibration metrics of a classifier from its per-example class probabilities: accuracy, ECE
// (equal-width bins on the top probability), NLL and Brier, plus the per-bin numbers a
// reliability diagram draws. Examples may have different numbers of classes (ARC items have 3
// to 5 choices), so the probabilities are a ragged list. Pure host code.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace vkmoe::eval {

constexpr std::size_t kEceBins = 15;
// NLL clamps p_true to at least this, so a confidently wrong example costs -log(1e-12) ≈ 27.6
// rather than infinity.
constexpr double kProbabilityFloor = 1e-12;

// Bin b covers top probabilities in (b/B, (b+1)/B]; a top probability of exactly 0 goes to bin 0.
struct ReliabilityBin {
  double lower = 0, upper = 0;
  std::size_t count = 0;
  double mean_confidence = 0;  // 0 for an empty bin
  double accuracy = 0;         // 0 for an empty bin
};

struct ClassificationMetrics {
  std::size_t examples = 0;
  double accuracy = 0;
  double ece = 0;    // Σ_b |B_b|/N · |acc(B_b) − conf(B_b)|
  double nll = 0;    // mean −log max(p_true, kProbabilityFloor)
  double brier = 0;  // mean Σ_c (p_c − 1[c = y])²
  std::vector<ReliabilityBin> bins;
};

// The predicted class: the first index of the largest probability.
std::size_t predicted_class(std::span<const double> probabilities);

// The bin of a top probability among `bins` equal-width bins of [0, 1].
std::size_t confidence_bin(double confidence, std::size_t bins);

// probabilities[i] are example i's class probabilities (each sums to ~1), labels[i] its true
// class. Throws Error when the sizes differ, there are no examples, an example has no classes,
// a label is out of range or a probability is not finite.
ClassificationMetrics classification_metrics(std::span<const std::vector<double>> probabilities,
                                             std::span<const int> labels,
                                             std::size_t bins = kEceBins);

}  // namespace vkmoe::eval
