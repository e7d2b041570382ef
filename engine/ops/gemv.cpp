#include "engine/ops/gemv.h"

#include <algorithm>
#include <bit>
#include <string>

#include "engine/ops/expert_product.h"
#include "engine/ops/fast_paths.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

std::string shape_text(const GemvArgs& a) {
  return "gemv_" + std::string(dtype_name(a.w_type)) + " (m " + std::to_string(a.m) + ", k " +
         std::to_string(a.k) + ")";
}

void check_config(const vk::DeviceInfo& device, const GemvConfig& c) {
  const uint64_t threads = uint64_t{c.k_threads} * c.rows;
  const uint64_t shared_bytes = threads * c.rows_per_invocation * 4;
  const uint32_t widest_subgroup = std::max(device.max_subgroup_size, device.subgroup_size);
  std::string problem;
  if (c.k_threads == 0 || c.rows == 0 || c.rows_per_invocation == 0 ||
      !std::has_single_bit(c.k_threads)) {
    problem = "k_threads must be a power of two and rows positive";
  } else if (threads > device.max_workgroup_invocations ||
             shared_bytes > device.shared_memory_bytes) {
    problem = "the workgroup is larger than the device allows";
  } else if (c.subgroup && !device.subgroup_arithmetic) {
    problem = "the device has no subgroup arithmetic";
  } else if (c.subgroup && c.k_threads > 1 && c.k_threads % widest_subgroup != 0) {
    problem =
        "k_threads must be a multiple of the subgroup size " + std::to_string(widest_subgroup);
  } else if (c.integer_dot && !device.integer_dot_product) {
    problem = "the device has no integer dot product (VK_KHR_shader_integer_dot_product)";
  } else if (c.float16 && !device.shader_float16) {
    problem = "the device has no f16 arithmetic (shaderFloat16)";
  }
  if (!problem.empty()) {
    throw Error("gemv: configuration of " + std::to_string(c.k_threads) + " invocations per row, " +
                std::to_string(c.rows) + " x " + std::to_string(c.rows_per_invocation) +
                " rows per group" + (c.subgroup ? ", subgroup" : "") + ": " + problem);
  }
}

}  // namespace

GemvConfig baseline_gemv_config() {
  return {64, 2, 1, false, true, false, false};
}

namespace {

GemvConfig with_fast_paths(GemvConfig config, const vk::DeviceInfo& device) {
  const FastPaths paths = fast_paths(device);
  config.integer_dot = paths.integer_dot;
  config.float16 = paths.float16;
  return config;
}

}  // namespace

GemvConfig default_gemv_config(const vk::DeviceInfo& device) {
  const uint32_t widest_subgroup = std::max(device.max_subgroup_size, device.subgroup_size);
  if (device.type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    // One invocation per row, 8 rows each, no reduction: on a CPU every load is a loop over
    // the SIMD lanes whatever the layout, so what pays is that one load of x feeds 8 rows and
    // nothing is spent on reductions and barriers (measured with `vkmoe bench kernels`: 85-95%
    // of the copy probe at 1024x1024, where 8 invocations per row with subgroupAdd reached
    // 45%).
    return with_fast_paths({1, 8, 8, false, true}, device);
  }
  GemvConfig config = baseline_gemv_config();
  config.subgroup =
      device.subgroup_arithmetic && widest_subgroup > 0 && config.k_threads % widest_subgroup == 0;
  return with_fast_paths(config, device);
}

namespace {

// Blocks of 32 x values gemv_dot.comp holds in shared memory for k (a power of two, so few
// pipelines), and whether they and the reduction fit the device's shared memory.
uint32_t dot_x_blocks(uint32_t k) {
  return std::bit_ceil(std::max(k / 32, 8u));
}

bool dot_fits(const vk::DeviceInfo& device, const GemvConfig& c, uint32_t k) {
  const uint64_t x_bytes = uint64_t{dot_x_blocks(k)} * (8 * 4 + 4 + 4);
  const uint64_t partial_bytes = uint64_t{c.k_threads} * c.rows * c.rows_per_invocation * 4;
  return x_bytes + partial_bytes <= device.shared_memory_bytes;
}

}  // namespace

std::string gemv_variant(const vk::DeviceInfo& device, const GemvConfig& c, DType w_type,
                         uint32_t k, bool experts) {
  const std::string family = experts ? "moe_gemv_" : "gemv_";
  const std::string type(dtype_name(w_type));
  const bool dot_type = w_type == DType::q8_0 || w_type == DType::q4_0;
  const std::string subgroup = c.subgroup ? "_subgroup" : "";
  if (c.integer_dot && dot_type && dot_fits(device, c, k)) return family + "dot_" + type + subgroup;
  if (c.float16 && w_type == DType::f16) return family + type + "_f16math" + subgroup;
  return family + type + subgroup;
}

namespace {

// The push constants of shaders/gemv.comp, both variants.
struct GemvPush {
  uint32_t m, k, w_stride, w_first, x_first, y_first, x_stride, y_stride, x_divisor;
  uint32_t expert_first, expert_count, expert_stride;
};

// Picks the pipeline for `c` (EXPERTS variant when `choices` is set) and records one dispatch
// of push.m rows over `vectors` vectors.
void dispatch(vk::Stream& stream, const GemvConfig& c, DType w_type, const AlignedBinding& bw,
              const AlignedBinding& bx, const AlignedBinding& by, const vk::BufferSpan* choices,
              GemvPush push, uint32_t vectors, bool vector_loads, const std::string& label,
              vk::KernelCost cost) {
  vk::Context& context = stream.context();
  const std::string variant = gemv_variant(context.info(), c, w_type, push.k, choices != nullptr);
  // Constant 5 (blocks of x in shared memory) only for gemv_dot.comp.
  const bool dot = variant.find("_dot_") != std::string::npos;
  const bool f16math = variant.find("_f16math") != std::string::npos;
  const uint32_t specialization[] = {
      c.k_threads * c.rows,   c.k_threads,         c.rows, c.rows_per_invocation,
      vector_loads ? 1u : 0u, dot_x_blocks(push.k)};
  const uint32_t binding_count = choices ? 4 : 3;
  const vk::Pipeline& pipeline = context.pipelines().get(
      variant, std::span(specialization, dot ? 6 : 5), {binding_count, sizeof(GemvPush)});
  push.w_first = bw.first_element;
  push.x_first = bx.first_element;
  push.y_first = by.first_element;
  vk::Binding bindings[] = {{bw.span, vk::Access::read},
                            {bx.span, vk::Access::read},
                            {by.span, vk::Access::write},
                            {choices ? *choices : bx.span, vk::Access::read}};
  vk::WorkGroups groups = linear_grid(context, push.m, c.rows * c.rows_per_invocation);
  groups.z = vectors;
  stream.dispatch(pipeline, std::span(bindings, binding_count), push_bytes(push), groups,
                  label + (dot       ? "_dot"
                           : f16math ? "_f16math"
                                     : ""),
                  cost);
}

}  // namespace

void gemv(vk::Stream& stream, const GemvArgs& args) {
  GemvArgs a = args;
  if (a.w_stride == 0) a.w_stride = a.k;
  if (a.x_stride == 0) a.x_stride = a.k;
  if (a.y_stride == 0) a.y_stride = a.m;
  if (a.m == 0 || a.n == 0) return;
  if (a.k == 0) throw Error(shape_text(a) + ": k must be positive");
  if (a.w_stride < a.k || a.x_stride < a.k || a.y_stride < a.m) {
    throw Error(shape_text(a) + ": a row stride (W " + std::to_string(a.w_stride) + ", x " +
                std::to_string(a.x_stride) + ", y " + std::to_string(a.y_stride) +
                ") is smaller than its row");
  }
  check_whole_blocks(shape_text(a), a.w_type, a.k, a.w_stride);
  const uint64_t w_row_bytes = dtype_row_bytes(a.w_type, a.w_stride);
  const uint64_t w_needed = dtype_matrix_bytes(a.w_type, a.m, a.k, a.w_stride);
  const uint64_t x_needed = (uint64_t{a.n - 1} * a.x_stride + a.k) * 4;
  const uint64_t y_needed = (uint64_t{a.n - 1} * a.y_stride + a.m) * 4;
  if (a.w.size < w_needed || a.x.size < x_needed || a.y.size < y_needed) {
    throw Error(shape_text(a) + ": spans too small (W " + std::to_string(a.w.size) + " of " +
                std::to_string(w_needed) + " bytes, x " + std::to_string(a.x.size) + " of " +
                std::to_string(x_needed) + ", y " + std::to_string(a.y.size) + " of " +
                std::to_string(y_needed) + ")");
  }

  vk::Context& context = stream.context();
  if (dtype_needs_16bit_storage(a.w_type) && !context.info().storage_buffer_16bit) {
    throw Error(shape_text(a) +
                ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  const uint64_t slack = context.info().min_storage_buffer_offset_alignment;
  if (x_needed + slack > context.max_binding_range() ||
      y_needed + slack > context.max_binding_range() ||
      a.n > context.info().max_workgroup_count[2]) {
    throw Error(shape_text(a) + ": " + std::to_string(a.n) +
                " vectors are more than one binding or one grid may hold; use gemm");
  }
  const GemvConfig c = a.config.value_or(default_gemv_config(context.info()));
  check_config(context.info(), c);
  const std::string label = "gemv_" + std::string(dtype_name(a.w_type));

  const AlignedBinding bx = align_binding(context, a.x.sub(0, x_needed), 4);
  const auto launch_rows = [&](uint64_t m0, uint64_t mc) {
    const uint64_t w_chunk = dtype_matrix_bytes(a.w_type, mc, a.k, a.w_stride);
    const AlignedBinding bw =
        align_binding(context, a.w.sub(m0 * w_row_bytes, w_chunk), dtype_binding_unit(a.w_type));
    const uint64_t y_chunk = ((a.n - 1) * uint64_t{a.y_stride} + mc) * 4;
    const AlignedBinding by = align_binding(context, a.y.sub(m0 * 4, y_chunk), 4);
    // 16-byte loads need x rows on a multiple of 4 elements and rows load_weights8 can read.
    const bool vector = c.vector_loads && rows_load8(a.w_type, bw.first_element, a.w_stride) &&
                        bx.first_element % 4 == 0 && (a.n == 1 || a.x_stride % 4 == 0);
    const GemvPush push{
        static_cast<uint32_t>(mc), a.k, a.w_stride, 0, 0, 0, a.x_stride, a.y_stride, 1, 0, 0, 0};
    const double flops = 2.0 * double(mc) * a.k * a.n;
    const double bytes = double(mc) * double(dtype_row_bytes(a.w_type, a.k)) +
                         double(a.n) * (double(a.k) + double(mc)) * 4;
    dispatch(stream, c, a.w_type, bw, bx, by, nullptr, push, a.n, vector, label, {flops, bytes});
  };
  for_each_chunk(context, a.m, w_row_bytes, launch_rows, rows_with_u32_indices(a.w_stride));
}

void moe_gemv(vk::Stream& stream, const MoeGemvArgs& a) {
  vk::Context& context = stream.context();
  const ExpertProductSizes sizes = check_expert_product(
      context, "moe_gemv", {a.w_type, a.experts, a.m, a.k, a.tokens, a.top_k, a.x_per_entry},
      a.x.size, a.w, a.y.size);
  const std::string& what = sizes.what;
  const uint64_t expert_bytes = sizes.expert_bytes;
  const uint64_t entries = sizes.entries, x_rows = sizes.x_rows;
  if (a.choices.size < entries * 4 || entries > context.info().max_workgroup_count[2]) {
    throw Error(what +
                ": choices are smaller than the entries, or the entries more than one "
                "grid holds");
  }
  const uint64_t range = sizes.binding_range, alignment = sizes.alignment;
  const GemvConfig c = a.config.value_or(default_gemv_config(context.info()));
  check_config(context.info(), c);
  const std::string label = "moe_gemv_" + std::string(dtype_name(a.w_type));

  const AlignedBinding bx = align_binding(context, a.x.sub(0, x_rows * a.k * 4), 4);
  const AlignedBinding by = align_binding(context, a.y.sub(0, entries * a.m * 4), 4);
  const vk::BufferSpan choices = a.choices.sub(0, entries * 4);
  if (align_binding(context, choices, 4).first_element != 0) {
    throw Error(what + ": choices must start at a multiple of the binding alignment");
  }
  // As many experts per dispatch as one binding of W holds (and 32-bit element indices reach).
  const auto per_group = static_cast<uint32_t>(std::min<uint64_t>(
      {a.experts, (range - alignment) / expert_bytes, rows_with_u32_indices(uint64_t{a.m} * a.k)}));
  for (const auto [first, group, w_span] : expert_groups(a.w, a.experts, expert_bytes, per_group)) {
    const AlignedBinding bw = align_binding(context, w_span, dtype_binding_unit(a.w_type));
    const bool vector = c.vector_loads && rows_load8(a.w_type, bw.first_element, a.k) &&
                        bx.first_element % 4 == 0 && a.k % 4 == 0;
    const GemvPush push{a.m,   a.k,   a.k,      0, 0, 0, a.k, a.m, a.x_per_entry ? 1u : a.top_k,
                        first, group, a.m * a.k};
    // Every entry reads one expert's matrix once; the group holds group/experts of them.
    const double share = double(group) / a.experts;
    const double flops = 2.0 * double(entries) * a.m * a.k * share;
    const double bytes = share * double(entries) * (double(expert_bytes) + (a.k + a.m) * 4.0);
    dispatch(stream, c, a.w_type, bw, bx, by, &choices, push, static_cast<uint32_t>(entries),
             vector, label, {flops, bytes});
  }
}

}  // namespace vkmoe::ops
