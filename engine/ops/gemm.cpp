#include "engine/ops/gemm.h"

#include <algorithm>
#include <bit>
#include <string>
#include <vector>

#include "engine/ops/fast_paths.h"
#include "engine/vk/error.h"
#include "engine/vk/shader_registry.h"

namespace vkmoe::ops {

namespace {

std::string shape_text(const GemmArgs& a) {
  return "gemm_" + std::string(dtype_name(a.w_type)) + " (n " + std::to_string(a.n) + ", m " +
         std::to_string(a.m) + ", k " + std::to_string(a.k) + ")";
}

void check_fits(const GemmArgs& a, const char* what, const vk::BufferSpan& span, uint64_t rows,
                uint64_t cols, uint64_t stride, DType type) {
  if (stride < cols) {
    throw Error(shape_text(a) + ": " + what + " row stride " + std::to_string(stride) +
                " is smaller than its row of " + std::to_string(cols));
  }
  const uint64_t needed = dtype_matrix_bytes(type, rows, cols, stride);
  if (span.size < needed) {
    throw Error(shape_text(a) + ": " + what + " needs " + std::to_string(needed) +
                " bytes but its span has " + std::to_string(span.size));
  }
}

bool coopmat_kernels_built() {
  for (const shaders::ShaderBinary* binary : shaders::all()) {
    if (std::string_view(binary->name) == "gemm_coopmat_f32") return true;
  }
  return false;
}

// Why the device cannot run cooperative-matrix tiles `t`, or "" when it can.
std::string coopmat_problem(const vk::DeviceInfo& device, const GemmTiles& t) {
  if (!coopmat_kernels_built()) {
    return "this build has no cooperative-matrix kernels (its glslang or spirv-val predates "
           "GL_KHR_cooperative_matrix; see shaders/CMakeLists.txt)";
  }
  if (!device.cooperative_matrix) return "the device lacks VK_KHR_cooperative_matrix";
  const auto& shapes = device.cooperative_matrix_shapes;
  if (std::none_of(shapes.begin(), shapes.end(), [&](const vk::CooperativeMatrixShape& s) {
        return s.m == t.matrix.m && s.n == t.matrix.n && s.k == t.matrix.k;
      })) {
    return "the device has no f16 x f16 -> f32 subgroup matrix of " + std::to_string(t.matrix.m) +
           "x" + std::to_string(t.matrix.n) + "x" + std::to_string(t.matrix.k);
  }
  if (!device.shader_float16 || !device.vulkan_memory_model) {
    return "the device lacks shaderFloat16 or vulkanMemoryModel";
  }
  if (!device.fixed_compute_subgroups()) return "the device cannot fix its subgroup size";
  if (t.bk % t.matrix.k != 0) return "bk must be a multiple of the matrix k";
  return "";
}

}  // namespace

uint32_t coopmat_subgroup_size(const vk::DeviceInfo& device) {
  if (device.min_subgroup_size <= 32 && device.max_subgroup_size >= 32) return 32;
  return device.subgroup_size;
}

uint32_t gemm_tile_rows(const GemmTiles& t) {
  return t.wg_n * t.tn * (t.kernel == GemmKernel::coopmat ? t.matrix.m : 1);
}

uint32_t gemm_tile_columns(const GemmTiles& t) {
  return t.wg_m * t.tm * (t.kernel == GemmKernel::coopmat ? t.matrix.n : 1);
}

void check_gemm_tiles(const vk::DeviceInfo& device, const GemmTiles& t) {
  const bool coopmat = t.kernel == GemmKernel::coopmat;
  const uint64_t threads =
      uint64_t{t.wg_m} * t.wg_n * (coopmat ? coopmat_subgroup_size(device) : 1);
  uint64_t shared = 0;
  if (t.kernel == GemmKernel::tiled) {
    shared = uint64_t{t.bk} * (t.wg_m * t.tm + 1 + t.wg_n * t.tn + 1) * 4;
  } else if (coopmat) {  // f16 tiles with 8 halves of row padding, f32 staging per subgroup
    shared = uint64_t{gemm_tile_rows(t) + gemm_tile_columns(t)} * (t.bk + 8) * 2 +
             uint64_t{t.wg_m} * t.wg_n * t.matrix.m * t.matrix.n * 4;
  }
  const uint32_t smallest_subgroup =
      device.min_subgroup_size ? device.min_subgroup_size : device.subgroup_size;
  std::string problem;
  if (threads == 0 || t.tm == 0 || t.tn == 0 || (t.kernel != GemmKernel::shuffle && t.bk == 0) ||
      (coopmat && (t.matrix.m == 0 || t.matrix.n == 0 || t.matrix.k == 0))) {
    problem = "every size must be positive";
  } else if (threads > device.max_workgroup_invocations || shared > device.shared_memory_bytes) {
    problem = "needs " + std::to_string(shared) + " bytes of shared memory and " +
              std::to_string(threads) + " invocations; the device has " +
              std::to_string(device.shared_memory_bytes) + " and " +
              std::to_string(device.max_workgroup_invocations);
  } else if (t.kernel == GemmKernel::shuffle &&
             (!device.subgroup_shuffle || t.wg_n != 1 || t.wg_m > smallest_subgroup ||
              t.tn % t.wg_m != 0)) {
    problem = "the shuffle kernel needs subgroup shuffle, wg_n = 1, wg_m <= the subgroup size " +
              std::to_string(smallest_subgroup) + " and tn a multiple of wg_m";
  } else if (coopmat) {
    problem = coopmat_problem(device, t);
  }
  if (!problem.empty()) {
    const char* kernel = t.kernel == GemmKernel::tiled     ? "tiled"
                         : t.kernel == GemmKernel::shuffle ? "shuffle"
                                                           : "coopmat";
    throw Error(std::string("gemm: ") + kernel + " tiles of " + std::to_string(t.wg_m) + "x" +
                std::to_string(t.wg_n) + (coopmat ? " subgroups, " : " invocations, ") +
                std::to_string(t.tn) + "x" + std::to_string(t.tm) +
                (coopmat ? " matrices each, bk " : " outputs each, bk ") + std::to_string(t.bk) +
                ": " + problem);
  }
}

GemmTiles baseline_gemm_tiles() {
  return {GemmKernel::tiled, 16, 16, 4, 4, 16};
}

GemmTiles default_gemm_tiles(const vk::DeviceInfo& device) {
  // On a CPU device every per-lane load is a loop over the SIMD lanes and a barrier switches
  // coroutines: sharing loads through shuffles beats shared memory by several times there.
  // 8 columns per invocation: with X and W read as texels, 1.1-1.2x the rate of 4 on lavapipe
  // (gemm_f16 1024^3 31-34 ms vs 36-41 ms, moe_gemm_f16 13.7-14.3 vs 14.9-18.7), where 12 and
  // 16 were slower for the expert GEMM.
  if (device.type == VK_PHYSICAL_DEVICE_TYPE_CPU && device.subgroup_shuffle &&
      device.subgroup_size == 8 && device.min_subgroup_size == 8) {
    return {GemmKernel::shuffle, 8, 1, 8, 64, 0};
  }
  return baseline_gemm_tiles();
}

std::optional<GemmTiles> coopmat_gemm_tiles(const vk::DeviceInfo& device) {
  const auto& shapes = device.cooperative_matrix_shapes;
  if (shapes.empty()) return std::nullopt;
  // 16x16x16 where listed (NVIDIA, AMD, Intel all have it), else the driver's first shape.
  const auto square = std::find_if(shapes.begin(), shapes.end(), [](const auto& s) {
    return s.m == 16 && s.n == 16 && s.k == 16;
  });
  GemmTiles t;
  t.kernel = GemmKernel::coopmat;
  t.matrix = square != shapes.end() ? *square : shapes.front();
  // 2 x 2 subgroups of 2 x 2 matrices: a 64 x 64 tile from 16 x 16 matrices, 14 KiB of shared
  // memory, four multiply-adds per pair of matrix loads.
  t.wg_m = t.wg_n = t.tm = t.tn = 2;
  t.bk = std::max<uint32_t>(1, 32 / t.matrix.k) * t.matrix.k;
  try {
    check_gemm_tiles(device, t);
  } catch (const Error&) {
    return std::nullopt;
  }
  return t;
}

GemmTiles forward_gemm_tiles(const vk::DeviceInfo& device) {
  if (fast_paths(device).cooperative_matrix) {
    if (std::optional<GemmTiles> t = coopmat_gemm_tiles(device)) return *t;
  }
  return default_gemm_tiles(device);
}

GemmTiles fit_tile_rows(GemmTiles t, uint64_t rows) {
  if (t.kernel == GemmKernel::shuffle) {
    const uint64_t row_groups = std::bit_ceil(std::max<uint64_t>(1, (rows + t.wg_m - 1) / t.wg_m));
    t.tn = static_cast<uint32_t>(std::min<uint64_t>(t.tn, row_groups * t.wg_m));
  }
  return t;
}

vk::WorkGroups expert_gemm_grid(const GemmTiles& t, uint32_t columns, uint32_t tokens,
                                uint64_t entries, uint32_t experts, uint32_t group) {
  const uint64_t tile_rows = gemm_tile_rows(t), tile_columns = gemm_tile_columns(t);
  const uint64_t row_tiles = (tokens + tile_rows - 1) / tile_rows;
  const uint64_t column_tiles = (columns + tile_columns - 1) / tile_columns;
  if (t.kernel != GemmKernel::shuffle) {
    return {static_cast<uint32_t>(column_tiles), static_cast<uint32_t>(row_tiles), group};
  }
  const uint64_t mean_tiles = (entries + experts * tile_rows - 1) / (experts * tile_rows);
  const uint64_t rows = std::clamp<uint64_t>(mean_tiles, 1, row_tiles);
  const uint64_t wanted = (uint64_t{t.workgroups} + rows * group - 1) / (rows * group);
  return {static_cast<uint32_t>(std::clamp<uint64_t>(wanted, 1, column_tiles)),
          static_cast<uint32_t>(rows), group};
}

std::string gemm_variant(std::string_view prefix, GemmKernel kernel, DType w_type) {
  const char* infix = kernel == GemmKernel::shuffle   ? "_shuffle_"
                      : kernel == GemmKernel::coopmat ? "_coopmat_"
                                                      : "_";
  return std::string(prefix) + infix + std::string(dtype_name(w_type));
}

std::vector<uint32_t> gemm_specialization(const vk::DeviceInfo& device, const GemmTiles& t,
                                          bool vector, bool vector_y) {
  switch (t.kernel) {
    case GemmKernel::shuffle:
      return {t.wg_m, t.tm, t.tn / t.wg_m, vector ? 1u : 0u, vector_y ? 1u : 0u};
    case GemmKernel::coopmat:
      return {t.wg_m * t.wg_n * coopmat_subgroup_size(device),
              t.wg_n,
              t.wg_m,
              t.matrix.m,
              t.matrix.n,
              t.matrix.k,
              t.tn,
              t.tm,
              t.bk,
              vector ? 1u : 0u};
    case GemmKernel::tiled:
      break;
  }
  return {t.wg_m, t.wg_n, t.tm, t.tn, t.bk};
}

std::optional<GemmTexels> gemm_texels(const vk::Context& context, vk::BufferSpan x,
                                      uint32_t x_stride, vk::BufferSpan w, DType w_type,
                                      uint32_t w_stride) {
  if (x_stride % 4 != 0) return std::nullopt;
  const std::optional<AlignedBinding> x_view = texel_binding(context, x, 4);
  if (!x_view) return std::nullopt;
  GemmTexels texels{*x_view, std::nullopt, 1u};
  if (dtype_is_quantized(w_type)) return texels;
  const uint32_t unit = dtype_binding_unit(w_type);  // bytes per weight
  if (uint64_t{w_stride} * unit % 16 != 0) return std::nullopt;
  texels.w = texel_binding(context, w, unit);
  if (!texels.w) return std::nullopt;
  texels.bindings |= 2u;
  return texels;
}

void gemm(vk::Stream& stream, const GemmArgs& args) {
  GemmArgs a = args;
  if (a.x_stride == 0) a.x_stride = a.k;
  if (a.w_stride == 0) a.w_stride = a.k;
  if (a.y_stride == 0) a.y_stride = a.m;
  if (a.n == 0 || a.m == 0) return;
  if (a.k == 0) throw Error(shape_text(a) + ": k must be positive");
  check_whole_blocks(shape_text(a), a.w_type, a.k, a.w_stride);
  check_fits(a, "X", a.x, a.n, a.k, a.x_stride, DType::f32);
  check_fits(a, "W", a.w, a.m, a.k, a.w_stride, a.w_type);
  check_fits(a, "Y", a.y, a.n, a.m, a.y_stride, DType::f32);
  const uint64_t w_row_bytes = dtype_row_bytes(a.w_type, a.w_stride);

  vk::Context& context = stream.context();
  if (dtype_needs_16bit_storage(a.w_type) && !context.info().storage_buffer_16bit) {
    throw Error(shape_text(a) +
                ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  GemmTiles t = a.tiles.value_or(forward_gemm_tiles(context.info()));
  check_gemm_tiles(context.info(), t);
  t = fit_tile_rows(t, a.n);  // few rows: decode, small batches
  const uint32_t tile_m = gemm_tile_columns(t), tile_n = gemm_tile_rows(t);
  const std::string label = "gemm_" + std::string(dtype_name(a.w_type));
  const bool shuffle = t.kernel == GemmKernel::shuffle;
  const std::string variant = gemm_variant("gemm", t.kernel, a.w_type);

  // Rows of X and Y per dispatch are limited by the binding range; rows of W likewise, and
  // by element indices that fit in 32 bits.
  const uint64_t xy_row_bytes = uint64_t{std::max(a.x_stride, a.y_stride)} * 4;
  for_each_chunk(context, a.n, xy_row_bytes, [&](uint64_t n0, uint64_t nc) {
    const auto launch_rows = [&](uint64_t m0, uint64_t mc) {
      const vk::WorkGroups groups{static_cast<uint32_t>((mc + tile_m - 1) / tile_m),
                                  static_cast<uint32_t>((nc + tile_n - 1) / tile_n), 1};
      if (groups.x > context.info().max_workgroup_count[0] ||
          groups.y > context.info().max_workgroup_count[1]) {
        throw Error(shape_text(a) + ": needs a grid of " + std::to_string(groups.x) + "x" +
                    std::to_string(groups.y) + " workgroups, more than the device allows");
      }
      const vk::BufferSpan x_rows =
          a.x.sub(n0 * a.x_stride * 4, dtype_matrix_bytes(DType::f32, nc, a.k, a.x_stride));
      const vk::BufferSpan w_rows =
          a.w.sub(m0 * w_row_bytes, dtype_matrix_bytes(a.w_type, mc, a.k, a.w_stride));
      const std::optional<GemmTexels> texels =
          shuffle && t.x_texels
              ? gemm_texels(context, x_rows, a.x_stride, w_rows, a.w_type, a.w_stride)
              : std::nullopt;
      const AlignedBinding bx = texels ? texels->x : align_binding(context, x_rows, 4);
      const AlignedBinding bw = texels && texels->w
                                    ? *texels->w
                                    : align_binding(context, w_rows, dtype_binding_unit(a.w_type));
      const AlignedBinding by = align_binding(
          context,
          a.y.sub((n0 * a.y_stride + m0) * 4, dtype_matrix_bytes(DType::f32, nc, mc, a.y_stride)),
          4);
      // 16-byte loads (shuffle kernel) need X rows on a multiple of 4 elements, W rows that
      // load_weights8 can read.
      const bool vector = bx.first_element % 4 == 0 && a.x_stride % 4 == 0 &&
                          rows_load8(a.w_type, bw.first_element, a.w_stride);
      // 16-byte stores (shuffle kernel): Y rows on a multiple of 4 elements, m too.
      const bool vector_y =
          by.first_element % 4 == 0 && a.y_stride % 4 == 0 && mc % 4 == 0 && t.tm % 4 == 0;
      const std::vector<uint32_t> specialization =
          gemm_specialization(context.info(), t, vector, vector_y);
      const vk::Pipeline& pipeline = context.pipelines().get(
          texels ? variant + "_texels" : variant, specialization,
          {3, 9 * sizeof(uint32_t), texels ? texels->bindings : 0u,
           t.kernel == GemmKernel::coopmat ? coopmat_subgroup_size(context.info()) : 0u});
      const struct {
        uint32_t n, m, k, x_stride, w_stride, y_stride, x_first, w_first, y_first;
      } push{static_cast<uint32_t>(nc),
             static_cast<uint32_t>(mc),
             a.k,
             a.x_stride,
             a.w_stride,
             a.y_stride,
             bx.first_element,
             bw.first_element,
             by.first_element};
      const vk::Binding bindings[] = {
          {bx.span, vk::Access::read}, {bw.span, vk::Access::read}, {by.span, vk::Access::write}};
      const double flops = 2.0 * double(nc) * double(mc) * double(a.k);
      const double bytes = double(nc) * a.k * 4 +
                           double(mc) * double(dtype_row_bytes(a.w_type, a.k)) +
                           double(nc) * double(mc) * 4;
      stream.dispatch(pipeline, bindings, push_bytes(push), groups, label, {flops, bytes});
    };
    for_each_chunk(context, a.m, w_row_bytes, launch_rows, rows_with_u32_indices(a.w_stride));
  });
}

}  // namespace vkmoe::ops
