// GEMV: y[m] = W[m, k] . x[k], one token (or a few, one vector each) through an nn.Linear
// weight (decode), and moe_gemv, the same for the routed experts of a MoE layer with the
// expert of every routing entry read on the GPU. x and y are f32; W is f32, f16, bf16 or a
// GGUF quant (q8_0, q4_0, q4_k: k and the W row stride then whole blocks); accumulation is f32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/ops/expert_product.h"
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
// The fast paths (fast_paths.h) apply where they fit: `integer_dot` to Q8_0/Q4_0 weights
// whose x row fits in shared memory as int8 blocks (shaders/gemv_dot.comp), `float16` to F16
// weights (gemv.comp's F16_MATH). Asking for one the device
// lacks is an Error.
struct GemvConfig {
  uint32_t k_threads = 64;
  uint32_t rows = 2;
  uint32_t rows_per_invocation = 1;
  bool subgroup = false;
  bool vector_loads = true;
  bool integer_dot = false;
  bool float16 = false;
};

// Shared-memory reduction only, no fast path; works on every device the engine supports.
GemvConfig baseline_gemv_config();
// The configuration measured fastest for the device's class, with the fast paths the device
// has (none under VKMOE_DISABLE_FAST_PATHS=1).
GemvConfig default_gemv_config(const vk::DeviceInfo& device);

// The shader variant a dispatch of gemv (or moe_gemv, `experts`) with `config` uses for
// w_type and k, e.g. "gemv_q8_0", "gemv_dot_q8_0", "moe_gemv_f16_f16math_subgroup".
std::string gemv_variant(const vk::DeviceInfo& device, const GemvConfig& config, DType w_type,
                         uint32_t k, bool experts);

struct GemvArgs {
  vk::BufferSpan w;  // [m rows, k] of w_type, rows w_stride elements apart
  vk::BufferSpan x;  // [n, k] f32, rows x_stride elements apart
  vk::BufferSpan y;  // [n, m] f32, rows y_stride elements apart (written)
  DType w_type = DType::f32;
  uint32_t m = 0, k = 0;
  uint32_t w_stride = 0;                // 0: dense (k)
  std::optional<GemvConfig> config;     // unset: default_gemv_config()
  uint32_t n = 1;                       // vectors: W is read once per vector
  uint32_t x_stride = 0, y_stride = 0;  // 0: dense (k, m)
};

// Records the product into `stream`. A W larger than one binding is split over rows into
// several dispatches. Throws Error on shapes that do not fit the spans.
void gemv(vk::Stream& stream, const GemvArgs& args);

struct MoeGemvArgs {
  vk::BufferSpan x;        // f32 [tokens, k] (x_per_entry: [tokens * top_k, k]), dense
  ExpertWeights w;         // w_type [experts, m, k]: each expert's nn.Linear weight
  vk::BufferSpan y;        // f32 [tokens * top_k, m]: one row per routing entry (written)
  vk::BufferSpan choices;  // u32 [tokens * top_k] from moe_router
  DType w_type = DType::f32;
  uint32_t experts = 0, m = 0, k = 0, tokens = 0, top_k = 1;
  bool x_per_entry = false;          // false: X row = token (gate/up); true: X row = entry
  std::optional<GemvConfig> config;  // unset: default_gemv_config()
};

// Y row t·top_k + j = X row · W_{choices[t·top_k + j]}^T: the decode-time counterpart of
// moe_gemm, reading only the chosen experts' rows. A stack of experts larger than one
// binding (or split over allocations) is bound a group of experts at a time; every dispatch sees
// every entry and skips those whose expert it does not hold.
void moe_gemv(vk::Stream& stream, const MoeGemvArgs& args);

}  // namespace vkmoe::ops
