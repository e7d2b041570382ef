// The experts of assets/stats/sigmoid_k2.json: opposite gates, slopes 2 and -1.5, noise sd 0.05
// on [-2, 2], so two experts explain the data far better than one. The K-selection tests
// (evidence and merge-truncate-merge) both need k* = 2 on well-separated data.
#pragma once

#include "engine/stats/simulate.h"

namespace vkmoe::stats_test {

inline stats::RegressionSpec well_separated_sigmoid_spec() {
  stats::RegressionSpec spec;
  spec.truth.family = stats::ExpertFamily::sigmoid;
  spec.truth.atoms = {{{1.0}, 0.0, {2.0}, 0.5}, {{-1.0}, 0.0, {-1.5}, -0.5}};
  spec.box_low = -2.0;
  spec.box_high = 2.0;
  spec.noise_sigma = 0.05;
  return spec;
}

}  // namespace vkmoe::stats_test
