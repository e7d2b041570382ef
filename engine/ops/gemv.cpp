#include "engine/ops/gemv.h"

#include <algorithm>
#include <bit>
#include <string>

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
  }
  if (!problem.empty()) {
    throw Error("gemv: configuration of " + std::to_string(c.k_threads) + " invocations per row, " +
                std::to_string(c.rows) + " x " + std::to_string(c.rows_per_invocation) +
                " rows per group" + (c.subgroup ? ", subgroup" : "") + ": " + problem);
  }
}

}  // namespace

GemvConfig baseline_gemv_config() {
  return {64, 2, 1, false, true};
}

GemvConfig default_gemv_config(const vk::DeviceInfo& device) {
  const uint32_t widest_subgroup = std::max(device.max_subgroup_size, device.subgroup_size);
  if (device.type == VK_PHYSICAL_DEVICE_TYPE_CPU) {
    // One SIMD width of invocations per row and 8 rows per invocation: every (expensive,
    // per-lane) load of x then feeds 8 rows of W.
    const bool subgroup = device.subgroup_arithmetic && widest_subgroup == 8;
    return {8, subgroup ? 2u : 4u, 8, subgroup, true};
  }
  GemvConfig config = baseline_gemv_config();
  config.subgroup =
      device.subgroup_arithmetic && widest_subgroup > 0 && config.k_threads % widest_subgroup == 0;
  return config;
}

void gemv(vk::Stream& stream, const GemvArgs& args) {
  GemvArgs a = args;
  if (a.w_stride == 0) a.w_stride = a.k;
  if (a.m == 0) return;
  if (a.k == 0) throw Error(shape_text(a) + ": k must be positive");
  if (a.w_stride < a.k) {
    throw Error(shape_text(a) + ": W row stride " + std::to_string(a.w_stride) +
                " is smaller than its row of " + std::to_string(a.k));
  }
  check_whole_blocks(shape_text(a), a.w_type, a.k, a.w_stride);
  const uint64_t w_row_bytes = dtype_row_bytes(a.w_type, a.w_stride);
  const uint64_t w_needed = dtype_matrix_bytes(a.w_type, a.m, a.k, a.w_stride);
  if (a.w.size < w_needed || a.x.size < uint64_t{a.k} * 4 || a.y.size < uint64_t{a.m} * 4) {
    throw Error(shape_text(a) + ": spans too small (W " + std::to_string(a.w.size) + " of " +
                std::to_string(w_needed) + " bytes, x " + std::to_string(a.x.size) + " of " +
                std::to_string(uint64_t{a.k} * 4) + ", y " + std::to_string(a.y.size) + " of " +
                std::to_string(uint64_t{a.m} * 4) + ")");
  }

  vk::Context& context = stream.context();
  if (dtype_needs_16bit_storage(a.w_type) && !context.info().storage_buffer_16bit) {
    throw Error(shape_text(a) +
                ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  if (uint64_t{a.k} * 4 + context.info().min_storage_buffer_offset_alignment >
      context.max_binding_range()) {
    throw Error(shape_text(a) + ": x is larger than one binding may be");
  }
  const GemvConfig c = a.config.value_or(default_gemv_config(context.info()));
  check_config(context.info(), c);
  const std::string label = "gemv_" + std::string(dtype_name(a.w_type));
  const std::string variant = c.subgroup ? label + "_subgroup" : label;
  const uint32_t rows_per_group = c.rows * c.rows_per_invocation;

  const AlignedBinding bx = align_binding(context, a.x.sub(0, uint64_t{a.k} * 4), 4);
  const auto launch_rows = [&](uint64_t m0, uint64_t mc) {
    const uint64_t w_chunk = dtype_matrix_bytes(a.w_type, mc, a.k, a.w_stride);
    const AlignedBinding bw =
        align_binding(context, a.w.sub(m0 * w_row_bytes, w_chunk), dtype_binding_unit(a.w_type));
    const AlignedBinding by = align_binding(context, a.y.sub(m0 * 4, mc * 4), 4);
    // 16-byte loads need x on a multiple of 4 elements and rows load_weights8 can read.
    const bool vector = c.vector_loads && rows_load8(a.w_type, bw.first_element, a.w_stride) &&
                        bx.first_element % 4 == 0;
    const uint32_t specialization[] = {c.k_threads * c.rows, c.k_threads, c.rows,
                                       c.rows_per_invocation, vector ? 1u : 0u};
    const vk::Pipeline& pipeline =
        context.pipelines().get(variant, specialization, {3, 6 * sizeof(uint32_t)});
    const struct {
      uint32_t m, k, w_stride, w_first, x_first, y_first;
    } push{static_cast<uint32_t>(mc), a.k, a.w_stride, bw.first_element, bx.first_element,
           by.first_element};
    const vk::Binding bindings[] = {
        {bw.span, vk::Access::read}, {bx.span, vk::Access::read}, {by.span, vk::Access::write}};
    const double flops = 2.0 * double(mc) * a.k;
    const double bytes =
        double(mc) * double(dtype_row_bytes(a.w_type, a.k)) + double(a.k) * 4 + double(mc) * 4;
    stream.dispatch(pipeline, bindings, push_bytes(push), linear_grid(context, mc, rows_per_group),
                    label, {flops, bytes});
  };
  for_each_chunk(context, a.m, w_row_bytes, launch_rows, rows_with_u32_indices(a.w_stride));
}

}  // namespace vkmoe::ops
