#include "engine/ops/moe_experts.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/ops/expert_product.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

constexpr uint32_t kCombineGroup = 256;

}  // namespace

void moe_gemm(vk::Stream& stream, const MoeGemmArgs& a) {
  vk::Context& context = stream.context();
  const ExpertProductSizes sizes = check_expert_product(
      context, "moe_gemm", {a.w_type, a.experts, a.m, a.k, a.tokens, a.top_k, a.x_per_entry},
      a.x.size, a.w, a.y.size);
  const std::string& what = sizes.what;
  const uint64_t expert_bytes = sizes.expert_bytes;
  const uint64_t entries = sizes.entries, x_rows = sizes.x_rows;
  const uint64_t range = sizes.binding_range, alignment = sizes.alignment;
  if (a.counts.size < uint64_t{a.experts} * 4 ||
      a.lists.size < uint64_t{a.experts} * a.tokens * 4 ||
      uint64_t{a.experts} * a.tokens * 4 + alignment > range) {
    throw Error(what +
                ": counts or lists are smaller than the shape needs, or larger than one "
                "binding");
  }

  GemmTiles t = a.tiles.value_or(forward_gemm_tiles(context.info()));
  check_gemm_tiles(context.info(), t);
  const bool shuffle = t.kernel == GemmKernel::shuffle;
  // Tiles about as tall as an expert's share of the entries; tiles past an expert's count exit
  // at once.
  t = fit_tile_rows(t, (entries + a.experts - 1) / a.experts);
  const std::string label = "moe_gemm_" + std::string(dtype_name(a.w_type));
  const std::string variant = gemm_variant("moe_gemm", t.kernel, a.w_type);

  const vk::BufferSpan x_span = a.x.sub(0, x_rows * a.k * 4);
  const AlignedBinding by = align_binding(context, a.y.sub(0, entries * a.m * 4), 4);
  const AlignedBinding bc = align_binding(context, a.counts.sub(0, uint64_t{a.experts} * 4), 4);
  const AlignedBinding bl =
      align_binding(context, a.lists.sub(0, uint64_t{a.experts} * a.tokens * 4), 4);
  if (bc.first_element != 0 || bl.first_element != 0) {
    throw Error(what + ": counts and lists must start at a multiple of the binding alignment");
  }
  // As many experts per dispatch as one binding of W holds (and 32-bit element indices reach).
  const uint32_t per_group = static_cast<uint32_t>(std::min<uint64_t>(
      {a.experts, (range - alignment) / expert_bytes, rows_with_u32_indices(uint64_t{a.m} * a.k),
       context.info().max_workgroup_count[2]}));
  for (const auto [first, group, w_span] : expert_groups(a.w, a.experts, expert_bytes, per_group)) {
    const std::optional<GemmTexels> texels =
        shuffle && t.x_texels ? gemm_texels(context, x_span, a.k, w_span, a.w_type, a.k)
                              : std::nullopt;
    const AlignedBinding bx = texels ? texels->x : align_binding(context, x_span, 4);
    const AlignedBinding bw = texels && texels->w
                                  ? *texels->w
                                  : align_binding(context, w_span, dtype_binding_unit(a.w_type));
    const bool vector =
        bx.first_element % 4 == 0 && a.k % 4 == 0 && rows_load8(a.w_type, bw.first_element, a.k);
    // 16-byte stores (shuffle kernel): Y rows (m elements) on a multiple of 4 elements.
    const bool vector_y = by.first_element % 4 == 0 && a.m % 4 == 0 && t.tm % 4 == 0;
    const std::vector<uint32_t> specialization =
        gemm_specialization(context.info(), t, vector, vector_y);
    const vk::Pipeline& pipeline = context.pipelines().get(
        texels ? variant + "_texels" : variant, specialization,
        {5, 13 * sizeof(uint32_t), texels ? texels->bindings : 0u,
         t.kernel == GemmKernel::coopmat ? coopmat_subgroup_size(context.info()) : 0u});
    const uint32_t push[] = {a.tokens,
                             a.m,
                             a.k,
                             a.k,
                             a.k,
                             a.m,
                             bx.first_element,
                             bw.first_element,
                             by.first_element,
                             first,
                             a.tokens,
                             a.x_per_entry ? 1u : a.top_k,
                             a.m * a.k};
    const vk::Binding bindings[] = {{bx.span, vk::Access::read},
                                    {bw.span, vk::Access::read},
                                    {by.span, vk::Access::write},
                                    {bc.span, vk::Access::read},
                                    {bl.span, vk::Access::read}};
    const vk::WorkGroups groups = expert_gemm_grid(t, a.m, a.tokens, entries, a.experts, group);
    // Every entry is computed once: entries * m * k multiply-adds over the whole layer.
    const double share = double(group) / a.experts;
    const double flops = 2.0 * double(entries) * a.m * a.k * share;
    const double bytes =
        double(group) * double(expert_bytes) + share * double(entries) * (double(a.k) + a.m) * 4.0;
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, label,
                    {flops, bytes});
  }
}

void moe_combine(vk::Stream& stream, vk::BufferSpan y, vk::BufferSpan weights, vk::BufferSpan out,
                 uint32_t tokens, uint32_t columns, uint32_t top_k, bool accumulate) {
  vk::Context& context = stream.context();
  const uint64_t entries = uint64_t{tokens} * top_k;
  if (y.size < entries * columns * 4 || weights.size < entries * 4 ||
      out.size < uint64_t{tokens} * columns * 4) {
    throw Error("moe_combine (tokens " + std::to_string(tokens) + ", columns " +
                std::to_string(columns) + ", top-k " + std::to_string(top_k) +
                "): a buffer is smaller than the shape needs");
  }
  const AlignedBinding by = align_binding(context, y.sub(0, entries * columns * 4), 4);
  const AlignedBinding bw = align_binding(context, weights.sub(0, entries * 4), 4);
  const AlignedBinding bo = align_binding(context, out.sub(0, uint64_t{tokens} * columns * 4), 4);
  if (by.first_element != 0 || bw.first_element != 0) {
    throw Error("moe_combine: y and weights must start at a multiple of the binding alignment");
  }
  const uint32_t specialization[] = {kCombineGroup};
  const vk::Pipeline& pipeline = context.pipelines().get("moe_combine", specialization, {3, 20});
  const uint32_t push[] = {tokens, columns, top_k, accumulate ? 1u : 0u, bo.first_element};
  const vk::Binding bindings[] = {
      {by.span, vk::Access::read},
      {bw.span, vk::Access::read},
      {bo.span, accumulate ? vk::Access::read_write : vk::Access::write}};
  const uint64_t outputs = uint64_t{tokens} * columns;
  stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)),
                  linear_grid(context, outputs, kCombineGroup), "moe_combine",
                  {2.0 * double(entries) * columns,
                   4.0 * (double(entries) * columns + double(outputs) * (accumulate ? 2 : 1))});
}

}  // namespace vkmoe::ops
