// A reliability diagram as one self-contained SVG (DESIGN.md "Evaluation"): one panel per model
// (e.g. MAP and Bayesian-MoE), each with the accuracy of every non-empty confidence bin as a bar,
// its mean confidence as a tick, the diagonal of perfect calibration, and the ECE in the title.
// Pure host code; no fonts or scripts from outside the file.
#pragma once

#include <string>
#include <vector>

#include "engine/eval/metrics.h"

namespace vkmoe::eval {

struct ReliabilityPanel {
  std::string name;  // escaped for XML here
  ClassificationMetrics metrics;
};

std::string reliability_svg(const std::vector<ReliabilityPanel>& panels);

}  // namespace vkmoe::eval
