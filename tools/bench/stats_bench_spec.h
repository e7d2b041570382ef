// The regression both `vkmoe bench stats` halves (least squares, HMC) run on: two sigmoid
// experts in one dimension, well separated, so every method has one clear answer to find.
#pragma once

#include "engine/stats/regression_spec.h"

namespace vkmoe::cli {

inline stats::RegressionSpec stats_bench_spec() {
  stats::RegressionSpec spec;
  spec.truth.family = stats::ExpertFamily::sigmoid;
  spec.truth.dimension = 1;
  spec.truth.atoms = {{{1.5}, 0.0, {4.0}, 1.0}, {{-1.5}, 0.5, {-3.0}, 0.5}};
  spec.box_low = -2.0;
  spec.box_high = 2.0;
  spec.noise_sigma = 0.1;
  return spec;
}

}  // namespace vkmoe::cli
