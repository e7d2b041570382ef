// A kernel benchmark case for `vkmoe bench kernels`. Each kernel family registers its cases
// in its own tools/bench/cases_*.cpp with VKMOE_BENCH_CASES; the driver runs them all.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "engine/vk/context.h"
#include "engine/vk/stream.h"

namespace vkmoe::bench {

// What limits a kernel: its fraction of peak is taken against the FMA probe (compute) or
// the copy probe (memory).
enum class Bound { compute, memory };

struct BenchCase {
  std::string kernel;  // e.g. "gemm_f32"
  std::string shape;   // e.g. "1024x1024x1024"
  Bound bound = Bound::compute;
  double flops = 0;  // per run, for GFLOP/s
  double bytes = 0;  // per run, minimum bytes moved, for GB/s
  // Allocates and fills inputs (buffers owned by the returned closure); returns the function
  // that records ONE run of the kernel into a stream. The driver calls it repeatedly (warm-up,
  // then timed repetitions) and sums the GPU time of every dispatch it recorded.
  std::function<std::function<void(vk::Stream&)>(vk::Context&, vk::Stream&)> prepare;
  // Unset: every device; else the case runs only where it returns true (a fast path's feature).
  std::function<bool(const vk::DeviceInfo&)> available;
};

using CaseFactory = std::vector<BenchCase> (*)(bool quick);

// Registration happens at static-initialisation time from each cases_*.cpp.
int register_cases(CaseFactory factory);
std::vector<BenchCase> all_cases(bool quick);

}  // namespace vkmoe::bench

#define VKMOE_BENCH_CONCAT_INNER(a, b) a##b
#define VKMOE_BENCH_CONCAT(a, b) VKMOE_BENCH_CONCAT_INNER(a, b)
// VKMOE_BENCH_CASES(factory): `factory` is a function `std::vector<BenchCase>(bool quick)`.
#define VKMOE_BENCH_CASES(factory)                                                    \
  [[maybe_unused]] static const int VKMOE_BENCH_CONCAT(bench_registered_, __LINE__) = \
      ::vkmoe::bench::register_cases(factory)
