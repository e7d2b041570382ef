// Two probes of what the device can do at best, measured here rather than taken from a spec
// sheet: an FMA chain (GFLOP/s) and a buffer copy (GB/s). Every kernel benchmark reports its
// rate as a fraction of one of them.
#pragma once

#include "engine/vk/context.h"

namespace vkmoe::ops {

struct PeakRates {
  double fma_gflops = 0;  // best of the repetitions
  double copy_gbps = 0;   // bytes read + bytes written per second, best of the repetitions
};

// Needs a context with profiling on. `quick` uses less work per run (for tests and CI).
PeakRates measure_peaks(vk::Context& context, int repetitions, bool quick);

}  // namespace vkmoe::ops
