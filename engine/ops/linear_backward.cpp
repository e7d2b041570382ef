#include "engine/ops/linear_backward.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

// Output columns per invocation of the shuffle kernel backward: one 16-byte load of 16-bit
// weights (two of f32) per row of W.
constexpr uint32_t kShuffleColumns = 8;

std::string shape_text(std::string_view kernel, DType type, uint64_t n, uint32_t out, uint32_t in) {
  return std::string(kernel) + "_" + std::string(dtype_name(type)) + " (n " + std::to_string(n) +
         ", out " + std::to_string(out) + ", in " + std::to_string(in) + ")";
}

// The tiles to use (the shuffle kernel with 8 consecutive columns per invocation on devices
// where it is the forward's default, else the baseline tiles), and the checks every transposed
// launch makes on its weight type. Quantised rows are whole blocks (checked by the callers), so
// weights.glsl finds weight i of a row by its index alone, as in the forward.
GemmTiles backward_tiles(const vk::Context& context, const std::string& what, DType type,
                         const std::optional<GemmTiles>& tiles) {
  if (dtype_needs_16bit_storage(type) && !context.info().storage_buffer_16bit) {
    throw Error(what + ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  GemmTiles fallback = default_gemm_tiles(context.info());
  if (fallback.kernel == GemmKernel::shuffle) fallback.tm = kShuffleColumns;
  const GemmTiles t = tiles.value_or(fallback);
  if (t.kernel == GemmKernel::shuffle && t.tm % kShuffleColumns != 0) {
    throw Error(what + ": the shuffle kernel runs backward with tm a multiple of " +
                std::to_string(kShuffleColumns) + ", not " + std::to_string(t.tm));
  }
  check_gemm_tiles(context.info(), t);
  return t;
}

// The pipeline of `kernel` ("gemm" or "moe_gemm") for the tiles, weight type and whether the
// rows allow 16-byte loads (shuffle only; tiled pipelines ignore it).
const vk::Pipeline& backward_pipeline(vk::Context& context, const std::string& kernel,
                                      const GemmTiles& t, DType type, bool vector,
                                      vk::KernelLayout layout) {
  const bool shuffle = t.kernel == GemmKernel::shuffle;
  const std::string name =
      kernel + (shuffle ? "_shuffle_transposed_" : "_transposed_") + std::string(dtype_name(type));
  const std::vector<uint32_t> specialization =
      shuffle ? std::vector<uint32_t>{t.wg_m, t.tm, t.tn / t.wg_m, vector ? 1u : 0u}
              : std::vector<uint32_t>{t.wg_m, t.wg_n, t.tm, t.tn, t.bk};
  return context.pipelines().get(name, specialization, layout);
}

void check_fits(const std::string& what, const char* name, const vk::BufferSpan& span,
                uint64_t rows, uint64_t cols, uint64_t stride, DType type) {
  if (stride < cols) {
    throw Error(what + ": " + name + " row stride " + std::to_string(stride) +
                " is smaller than its row of " + std::to_string(cols));
  }
  const uint64_t needed = dtype_matrix_bytes(type, rows, cols, stride);
  if (span.size < needed) {
    throw Error(what + ": " + name + " needs " + std::to_string(needed) +
                " bytes but its span has " + std::to_string(span.size));
  }
}

}  // namespace

void linear_backward(vk::Stream& stream, const LinearBackwardArgs& args) {
  LinearBackwardArgs a = args;
  if (a.dy_stride == 0) a.dy_stride = a.out;
  if (a.w_stride == 0) a.w_stride = a.in;
  if (a.dx_stride == 0) a.dx_stride = a.in;
  const std::string what = shape_text("linear_backward", a.w_type, a.n, a.out, a.in);
  vk::Context& context = stream.context();
  const GemmTiles t = fit_tile_rows(backward_tiles(context, what, a.w_type, a.tiles), a.n);
  if (a.n == 0 || a.in == 0) return;
  if (a.out == 0) throw Error(what + ": out must be positive");
  check_whole_blocks(what, a.w_type, a.in, a.w_stride);
  check_fits(what, "dY", a.dy, a.n, a.out, a.dy_stride, DType::f32);
  check_fits(what, "W", a.w, a.out, a.in, a.w_stride, a.w_type);
  check_fits(what, "dX", a.dx, a.n, a.in, a.dx_stride, DType::f32);
  const uint64_t w_row_bytes = dtype_row_bytes(a.w_type, a.w_stride);
  const uint32_t tile_m = t.wg_m * t.tm, tile_n = t.wg_n * t.tn;
  const std::string label = "gemm_transposed_" + std::string(dtype_name(a.w_type));

  const uint64_t row_bytes = uint64_t{std::max(a.dy_stride, a.dx_stride)} * 4;
  for_each_chunk(context, a.n, row_bytes, [&](uint64_t n0, uint64_t nc) {
    const AlignedBinding bx = align_binding(
        context,
        a.dx.sub(n0 * a.dx_stride * 4, dtype_matrix_bytes(DType::f32, nc, a.in, a.dx_stride)), 4);
    // Pieces of W's rows (the summed dimension): the first writes dX unless accumulating,
    // the rest add to it.
    const auto launch_rows = [&](uint64_t o0, uint64_t oc) {
      const vk::WorkGroups groups{static_cast<uint32_t>((a.in + tile_m - 1) / tile_m),
                                  static_cast<uint32_t>((nc + tile_n - 1) / tile_n), 1};
      if (groups.x > context.info().max_workgroup_count[0] ||
          groups.y > context.info().max_workgroup_count[1]) {
        throw Error(what + ": needs a grid of " + std::to_string(groups.x) + "x" +
                    std::to_string(groups.y) + " workgroups, more than the device allows");
      }
      const AlignedBinding bdy =
          align_binding(context,
                        a.dy.sub((n0 * a.dy_stride + o0) * 4,
                                 dtype_matrix_bytes(DType::f32, nc, oc, a.dy_stride)),
                        4);
      const AlignedBinding bw = align_binding(
          context, a.w.sub(o0 * w_row_bytes, dtype_matrix_bytes(a.w_type, oc, a.in, a.w_stride)),
          dtype_binding_unit(a.w_type));
      // 16-byte loads (shuffle kernel): dY rows on a multiple of 4 elements, W rows and columns
      // on a multiple of 8.
      const bool vector = bdy.first_element % 4 == 0 && a.dy_stride % 4 == 0 && a.in % 8 == 0 &&
                          rows_load8(a.w_type, bw.first_element, a.w_stride);
      const vk::Pipeline& pipeline =
          backward_pipeline(context, "gemm", t, a.w_type, vector, {3, 10 * sizeof(uint32_t)});
      const bool add = a.accumulate || o0 > 0;
      const uint32_t push[] = {static_cast<uint32_t>(nc),
                               a.in,
                               static_cast<uint32_t>(oc),
                               a.dy_stride,
                               a.w_stride,
                               a.dx_stride,
                               bdy.first_element,
                               bw.first_element,
                               bx.first_element,
                               add ? 1u : 0u};
      const vk::Binding bindings[] = {{bdy.span, vk::Access::read},
                                      {bw.span, vk::Access::read},
                                      {bx.span, add ? vk::Access::read_write : vk::Access::write}};
      const double flops = 2.0 * double(nc) * double(oc) * double(a.in);
      const double bytes = double(nc) * double(oc) * 4 +
                           double(oc) * double(dtype_row_bytes(a.w_type, a.in)) +
                           double(nc) * double(a.in) * 4 * (add ? 2 : 1);
      stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, label,
                      {flops, bytes});
    };
    // dY's piece of a W chunk lies inside the rows of this chunk of n, which fit one binding.
    for_each_chunk(context, a.out, w_row_bytes, launch_rows, rows_with_u32_indices(a.w_stride));
  });
}

void moe_linear_backward(vk::Stream& stream, const MoeLinearBackwardArgs& a) {
  vk::Context& context = stream.context();
  // The forward's shape with X = dX [entries, in] and Y = dY [entries, out].
  const ExpertProductSizes sizes = check_expert_product(
      context, "moe_linear_backward", {a.w_type, a.experts, a.out, a.in, a.tokens, a.top_k, true},
      a.dx.size, a.w, a.dy.size);
  const std::string& what = sizes.what;
  const uint64_t entries = sizes.entries, range = sizes.binding_range;
  // Tiles about as tall as an expert's share of the entries (moe_gemm).
  const GemmTiles t = fit_tile_rows(backward_tiles(context, what, a.w_type, a.tiles),
                                    (entries + a.experts - 1) / a.experts);
  const uint64_t alignment = sizes.alignment;
  if (a.counts.size < uint64_t{a.experts} * 4 ||
      a.lists.size < uint64_t{a.experts} * a.tokens * 4 ||
      uint64_t{a.experts} * a.tokens * 4 + alignment > range) {
    throw Error(what +
                ": counts or lists are smaller than the shape needs, or larger than one binding");
  }
  const std::string label = "moe_gemm_transposed_" + std::string(dtype_name(a.w_type));

  const AlignedBinding bdy = align_binding(context, a.dy.sub(0, entries * a.out * 4), 4);
  const AlignedBinding bx = align_binding(context, a.dx.sub(0, entries * a.in * 4), 4);
  const AlignedBinding bc = align_binding(context, a.counts.sub(0, uint64_t{a.experts} * 4), 4);
  const AlignedBinding bl =
      align_binding(context, a.lists.sub(0, uint64_t{a.experts} * a.tokens * 4), 4);
  if (bc.first_element != 0 || bl.first_element != 0) {
    throw Error(what + ": counts and lists must start at a multiple of the binding alignment");
  }
  const uint64_t expert_bytes = sizes.expert_bytes;
  const uint32_t per_group = static_cast<uint32_t>(std::min<uint64_t>(
      {a.experts, (range - alignment) / expert_bytes, rows_with_u32_indices(uint64_t{a.out} * a.in),
       context.info().max_workgroup_count[2]}));
  for (const auto [first, group, w_span] : expert_groups(a.w, a.experts, expert_bytes, per_group)) {
    const AlignedBinding bw = align_binding(context, w_span, dtype_binding_unit(a.w_type));
    const bool vector = bdy.first_element % 4 == 0 && a.out % 4 == 0 && a.in % 8 == 0 &&
                        rows_load8(a.w_type, bw.first_element, a.in);
    const vk::Pipeline& pipeline =
        backward_pipeline(context, "moe_gemm", t, a.w_type, vector, {5, 14 * sizeof(uint32_t)});
    const uint32_t push[] = {a.tokens,
                             a.in,
                             a.out,
                             a.out,
                             a.in,
                             a.in,
                             bdy.first_element,
                             bw.first_element,
                             bx.first_element,
                             a.accumulate ? 1u : 0u,
                             first,
                             a.tokens,
                             1u,
                             a.out * a.in};
    const vk::Binding bindings[] = {
        {bdy.span, vk::Access::read},
        {bw.span, vk::Access::read},
        {bx.span, a.accumulate ? vk::Access::read_write : vk::Access::write},
        {bc.span, vk::Access::read},
        {bl.span, vk::Access::read}};
    const vk::WorkGroups groups = expert_gemm_grid(t, a.in, a.tokens, entries, a.experts, group);
    const double share = double(group) / a.experts;
    const double flops = 2.0 * double(entries) * a.out * a.in * share;
    const double bytes = double(group) * double(expert_bytes) +
                         share * double(entries) * (double(a.in) + a.out) * 4.0;
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, label,
                    {flops, bytes});
  }
}

}  // namespace vkmoe::ops
