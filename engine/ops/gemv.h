// GEMV: y[m] = W[m, k] . x[k], one token through an nn.Linear weight (decode).
// x and y are f32; W is f32, f16, bf16 or a GGUF quant (q8_0, q4_0, q4_k: k and the W row
// stride then whole blocks); accumulation is f32.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/ops/launch.h"
#include "engine/vk/device_info.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// How shaders/gemv.comp splits the work: k_threads invocations share one row (1, or a power
// of two), each invocation serves rows_per_invocation rows (one load of x feeds them all),
// and a workgroup holds `rows` such invocation rows. With `subgroup`, partial sums are
// reduced with subgroupAdd (needs subgroup arithmetic and k_threads a multiple of the
// subgroup size). With `vector_loads`, 16-byte loads are used wherever rows and x start on a
// multiple of 8 elements (the launcher checks per dispatch; other views read scalars).
struct GemvConfig {
  uint32_t k_threads = 64;
  uint32_t rows = 2;
  uint32_t rows_per_invocation = 1;
  bool subgroup = false;
  bool vector_loads = true;
};

// Shared-memory reduction only; works on every device the engine supports.
GemvConfig baseline_gemv_config();
// The configuration measured fastest for the device's class.
GemvConfig default_gemv_config(const vk::DeviceInfo& device);

struct GemvArgs {
  vk::BufferSpan w;  // [m rows, k] of w_type, rows w_stride elements apart
  vk::BufferSpan x;  // [k] f32
  vk::BufferSpan y;  // [m] f32 (written)
  DType w_type = DType::f32;
  uint32_t m = 0, k = 0;
  uint32_t w_stride = 0;             // 0: dense (k)
  std::optional<GemvConfig> config;  // unset: default_gemv_config()
};

// Records the product into `stream`. A W larger than one binding is split over rows into
// several dispatches. Throws Error on shapes that do not fit the spans.
void gemv(vk::Stream& stream, const GemvArgs& args);

}  // namespace vkmoe::ops
