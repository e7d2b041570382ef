#include "engine/stats/lse_starts.h"

#include <cmath>

#include "engine/stats/counter_rng.h"
#include "engine/vk/error.h"

namespace vkmoe::stats {

std::vector<float> near_truth_start(const MoeModel& truth, uint32_t experts, double jitter,
                                    uint64_t seed) {
  const uint32_t k_true = truth.experts();
  if (experts < k_true) {
    throw Error("lse: " + std::to_string(experts) + " experts cannot start near a truth of " +
                std::to_string(k_true));
  }
  MoeModel start = truth;
  start.atoms.clear();
  const uint32_t splits = experts - k_true;
  for (uint32_t j = 0; j < k_true; ++j) {
    ExpertAtom atom = truth.atoms[j];
    // Atom j is split when j < splits (and again when there are more splits than atoms).
    const uint32_t copies = 1 + splits / k_true + (j < splits % k_true ? 1 : 0);
    atom.gate_bias -= std::log(static_cast<double>(copies));
    for (uint32_t c = 0; c < copies; ++c) start.atoms.push_back(atom);
  }
  std::vector<float> packed = pack_parameters(start);
  const CounterRng rng(seed, 0x5741u);
  for (size_t i = 0; i < packed.size(); ++i) {
    packed[i] += static_cast<float>(jitter * rng.normal(i));
  }
  return packed;
}

std::vector<float> random_start(uint32_t experts, uint32_t dimension, uint64_t seed) {
  const CounterRng rng(seed, 0x7a4du);
  std::vector<float> packed(parameter_count(experts, dimension));
  const uint32_t stride = atom_stride(dimension);
  for (size_t i = 0; i < packed.size(); ++i) {
    const bool gate_bias = i % stride == dimension;
    packed[i] = gate_bias ? 0.0f : static_cast<float>(rng.normal(i));
  }
  return packed;
}

}  // namespace vkmoe::stats
