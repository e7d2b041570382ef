#include "engine/ops/expert_gram.h"

#include <algorithm>
#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

// Tile of shaders/expert_gram.comp: SG·RI rows x SG·TJ columns. On lavapipe (8 lanes) RI = 8,
// TJ = 4 gives three 16-byte loads per 256 FMAs per invocation per row (multiples of 4).
constexpr uint32_t kRowsPerLane = 8, kColumnsPerLane = 4;

}  // namespace

void expert_gram(vk::Stream& stream, const ExpertGramArgs& args) {
  ExpertGramArgs a = args;
  if (a.x_stride == 0) a.x_stride = a.n;
  if (a.expert_count == 0 && a.expert_first < a.experts)
    a.expert_count = a.experts - a.expert_first;
  const std::string what = "expert_gram (experts " + std::to_string(a.expert_first) + ".." +
                           std::to_string(uint64_t{a.expert_first} + a.expert_count) + " of " +
                           std::to_string(a.experts) + ", n " + std::to_string(a.n) + ", tokens " +
                           std::to_string(a.tokens) + ", rows " + std::to_string(a.rows) +
                           ", passes " + std::to_string(a.passes) + ")";
  if (a.n == 0 || a.tokens == 0 || a.rows == 0 || a.passes == 0 || a.expert_count == 0 ||
      uint64_t{a.expert_first} + a.expert_count > a.experts || a.x_stride < a.n) {
    throw Error(what +
                ": sizes must be positive, the experts within the experts and the row "
                "stride at least n");
  }
  vk::Context& context = stream.context();
  const vk::DeviceInfo& device = context.info();
  const uint32_t sg = device.min_subgroup_size ? device.min_subgroup_size : device.subgroup_size;
  if (!device.subgroup_shuffle || sg == 0) {
    throw Error(what + ": the device has no subgroup shuffle");
  }
  const uint64_t x_bytes = (uint64_t{a.rows} * a.passes - 1) * a.x_stride * 4 + uint64_t{a.n} * 4;
  const uint64_t gram_bytes = uint64_t{a.n} * a.n * a.expert_count * 4;
  const uint64_t list_bytes = uint64_t{a.experts} * a.tokens * 4;
  if (a.x.size < x_bytes || a.gram.size < gram_bytes || a.counts.size < uint64_t{a.experts} * 4 ||
      a.lists.size < list_bytes) {
    throw Error(what + ": a buffer is smaller than the shape needs");
  }
  const uint64_t slack = std::max<uint64_t>(1, device.min_storage_buffer_offset_alignment);
  if (x_bytes + slack > context.max_binding_range() ||
      gram_bytes + slack > context.max_binding_range() ||
      list_bytes + slack > context.max_binding_range()) {
    throw Error(what + ": X, the gram matrices or the lists are larger than one binding");
  }
  const AlignedBinding bx = align_binding(context, a.x.sub(0, x_bytes), 4);
  const AlignedBinding bc = align_binding(context, a.gram.sub(0, gram_bytes), 4);
  const AlignedBinding bn = align_binding(context, a.counts.sub(0, uint64_t{a.experts} * 4), 4);
  const AlignedBinding bl = align_binding(context, a.lists.sub(0, list_bytes), 4);
  if (bn.first_element != 0 || bl.first_element != 0) {
    throw Error(what + ": counts and lists must start at a multiple of the binding alignment");
  }
  const uint32_t tile_i = sg * kRowsPerLane, tile_j = sg * kColumnsPerLane;
  const vk::WorkGroups groups{(a.n + tile_j - 1) / tile_j, (a.n + tile_i - 1) / tile_i,
                              a.expert_count};
  if (groups.x > device.max_workgroup_count[0] || groups.y > device.max_workgroup_count[1] ||
      groups.z > device.max_workgroup_count[2]) {
    throw Error(what + ": n or the experts are more than one grid covers");
  }
  // 16-byte loads need every row to start on a multiple of 4 elements.
  const bool vector = a.n % 4 == 0 && a.x_stride % 4 == 0 && bx.first_element % 4 == 0;
  const uint32_t specialization[] = {sg, kColumnsPerLane, kRowsPerLane, vector ? 1u : 0u};
  const vk::Pipeline& pipeline =
      context.pipelines().get("expert_gram", specialization, {4, 12 * sizeof(uint32_t)});
  const vk::Binding bindings[] = {{bx.span, vk::Access::read},
                                  {bc.span, vk::Access::read_write},
                                  {bn.span, vk::Access::read},
                                  {bl.span, vk::Access::read}};
  // One loop trip per 8 rows of every pass; drivers that bound loop iterations get the lists in
  // parts.
  const uint32_t per_dispatch =
      device.max_loop_iterations ? std::max<uint32_t>(1, device.max_loop_iterations / 2 / a.passes)
                                 : a.tokens;
  for (uint32_t begin = 0; begin < a.tokens; begin += per_dispatch) {
    const uint32_t end = std::min(a.tokens, begin + std::min(per_dispatch, a.tokens - begin));
    const uint32_t push[] = {a.n,
                             a.x_stride,
                             bx.first_element,
                             bc.first_element,
                             a.expert_first,
                             a.n * a.n,
                             a.tokens,
                             begin,
                             end,
                             a.passes,
                             a.rows,
                             begin == 0 && !a.accumulate ? 0u : 1u};
    // The host does not know the counts: cost the expected share of the entries (rows per
    // pass / experts per expert) of this part of the lists; the symmetric half is computed once.
    const double rows =
        double(a.rows) * a.passes * a.expert_count / a.experts * double(end - begin) / a.tokens;
    const double flops = rows * double(a.n) * double(a.n + 1);
    const double bytes = rows * a.n * 4.0 + double(gram_bytes) * (a.accumulate ? 2 : 1);
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, "expert_gram",
                    {flops, bytes});
  }
}

}  // namespace vkmoe::ops
