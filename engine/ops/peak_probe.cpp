#include "engine/ops/peak_probe.h"

#include <algorithm>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kGroupSize = 64;
constexpr double kFlopsPerIteration = 8 * 4 * 2;  // 8 vec4 chains, FMA = 2 flops

double best_rate(vk::Context& context, vk::Stream& stream, int repetitions,
                 const std::function<void()>& record, double work) {
  double best = 0;
  for (int r = 0; r <= repetitions; ++r) {  // r == 0 warms up (pipeline compile, caches)
    context.profiler().clear();
    record();
    stream.finish();
    double ns = 0;
    for (const vk::KernelStats& row : context.profiler().rows()) ns += row.total_ns;
    if (r > 0 && ns > 0) best = std::max(best, work / ns);
  }
  context.profiler().clear();
  return best;
}

}  // namespace

PeakRates measure_peaks(vk::Context& context, int repetitions, bool quick) {
  if (!context.profiling()) throw Error("measure_peaks needs a context with profiling on");
  const bool cpu = context.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  vk::Stream stream(context);
  PeakRates peaks;

  // Enough invocations to fill every core of a large GPU; a CPU needs far fewer.
  const uint32_t invocations = cpu ? 4096 : 1u << 20;
  const uint32_t iterations = quick ? 64 : (cpu ? 8192 : 4096);
  vk::Buffer sink = context.create_buffer(uint64_t{invocations} * 16, "peak_fma sink");
  const uint32_t fma_spec[] = {kGroupSize};
  const vk::Pipeline& fma = context.pipelines().get("peak_fma", fma_spec, {1, 12});
  struct {
    uint32_t iterations;
    float multiplier, addend;
  } fma_push{iterations, 0.999f, 0.001f};
  const vk::Binding fma_bindings[] = {{sink.span(), vk::Access::write}};
  const double flops = double(invocations) * iterations * kFlopsPerIteration;
  peaks.fma_gflops = best_rate(
      context, stream, repetitions,
      [&] {
        stream.dispatch(fma, fma_bindings, push_bytes(fma_push), {invocations / kGroupSize, 1, 1},
                        "peak_fma", {flops, 0});
      },
      flops);

  // A copy well beyond any last-level cache, within one binding.
  const uint64_t wanted = quick ? (8ull << 20) : (cpu ? (64ull << 20) : (256ull << 20));
  const uint64_t bytes = std::min<uint64_t>(wanted, context.max_binding_range()) / 16 * 16;
  vk::Buffer source = context.create_buffer(bytes, "peak_copy source");
  vk::Buffer destination = context.create_buffer(bytes, "peak_copy destination");
  stream.fill(source.span(), 0x3f800000u);
  stream.finish();
  const uint32_t copy_spec[] = {256};
  const vk::Pipeline& copy = context.pipelines().get("peak_copy", copy_spec, {2, 4});
  const uint32_t count = static_cast<uint32_t>(bytes / 16);
  const vk::Binding copy_bindings[] = {{source.span(), vk::Access::read},
                                       {destination.span(), vk::Access::write}};
  peaks.copy_gbps = best_rate(
      context, stream, repetitions,
      [&] {
        stream.dispatch(copy, copy_bindings, push_bytes(count), linear_grid(context, count, 256),
                        "peak_copy", {0, 2.0 * double(bytes)});
      },
      2.0 * double(bytes));
  return peaks;
}

}  // namespace vkmoe::ops
