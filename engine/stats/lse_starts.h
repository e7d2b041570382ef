// Starting points for the least-squares fit of k experts when the truth has k* <= k atoms.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/stats/moe_model.h"

namespace vkmoe::stats {

// The truth with k - k* of its atoms split in two (each half keeps the atom's location and half
// its mass, exp(beta0) / 2), every parameter then moved by N(0, jitter^2) so split atoms can
// separate. Packed as the GPU layout.
std::vector<float> near_truth_start(const MoeModel& truth, uint32_t experts, double jitter,
                                    uint64_t seed);

// Every parameter N(0, 1) except the gate biases, which start at 0 (equal masses).
std::vector<float> random_start(uint32_t experts, uint32_t dimension, uint64_t seed);

}  // namespace vkmoe::stats
