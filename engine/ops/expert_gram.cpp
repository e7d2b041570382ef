#include "engine/ops/expert_gram.h"

#include <algorithm>
#include <optional>
#include <string>

#include "engine/ops/launch.h"
#include "engine/vk/error.h"

namespace vkmoe::ops {

namespace {

// Tile of shaders/expert_gram.comp: SG·RI rows x SG·TJ columns (multiples of 4 for the 16-byte
// loads), STEP rows of X per loop trip. Other devices keep RI = 8, TJ = 4, STEP = 8.
// On lavapipe a trip becomes straight-line machine code, about 18 bytes per FMA (multiply, add,
// a spilled operand). The 64 x 64 tile with 8 rows was 4096 FMAs per invocation per trip: about
// 100 KiB of code, which the 32 KiB instruction cache could not hold. Its loads, not its
// arithmetic, limited it. 64 x 32 with 4 rows (1024 FMAs, about 25 KiB) loads more per FMA and
// still ran 1.15-1.2x as fast (4 experts x 1024 rows: n = 512 18.7 vs 22.5 ms, n = 1024 76.9 vs
// 89.6 ms). 32 x 64 x 4 and 64 x 32 x 2 came close; 64 x 64 x 2 and 64 x 32 x 8 did not.
constexpr uint32_t kRowsPerLane = 8, kColumnsPerLane = 4;
constexpr uint32_t kStepCpu = 4, kStep = 8;

uint64_t x_bytes_of(const ExpertGramArgs& a) {
  const uint32_t stride = a.x_stride ? a.x_stride : a.n;
  return (uint64_t{a.x_rows} - 1) * stride * 4 + uint64_t{a.n} * 4;
}

// X as RGBA32UI texels (the X_TEXELS variant) where texel_binding allows it: on lavapipe that
// measured 1.3x the storage-buffer kernel. Other devices keep the storage-buffer kernel until
// measured.
std::optional<AlignedBinding> texel_view(const vk::Context& context, const ExpertGramArgs& a) {
  const uint32_t stride = a.x_stride ? a.x_stride : a.n;
  if (!a.read_x_as_texels || a.n % 4 != 0 || stride % 4 != 0 || a.x_rows == 0) {
    return std::nullopt;
  }
  return texel_binding(context, a.x.sub(0, x_bytes_of(a)), 4);
}

}  // namespace

bool expert_gram_reads_texels(const vk::Context& context, const ExpertGramArgs& args) {
  return texel_view(context, args).has_value();
}

void expert_gram(vk::Stream& stream, const ExpertGramArgs& args) {
  ExpertGramArgs a = args;
  if (a.x_stride == 0) a.x_stride = a.n;
  const std::string what = "expert_gram (" + std::to_string(a.experts) + " experts, n " +
                           std::to_string(a.n) + ", " + std::to_string(a.x_rows) + " rows, " +
                           std::to_string(a.listed) + " listed, longest " +
                           std::to_string(a.longest) + ")";
  if (a.n == 0 || a.x_rows == 0 || a.experts == 0 || a.x_stride < a.n || a.longest > a.listed) {
    throw Error(what +
                ": n, the rows and the experts must be positive, the row stride at least n and "
                "no list longer than all of them");
  }
  vk::Context& context = stream.context();
  const vk::DeviceInfo& device = context.info();
  const uint32_t sg = device.min_subgroup_size ? device.min_subgroup_size : device.subgroup_size;
  if (!device.subgroup_shuffle || sg == 0) {
    throw Error(what + ": the device has no subgroup shuffle");
  }
  const uint64_t x_bytes = x_bytes_of(a);
  const uint64_t gram_bytes = uint64_t{a.n} * a.n * a.experts * 4;
  const uint64_t offset_bytes = (uint64_t{a.experts} + 1) * 4;
  // An empty `rows` still binds one element (the kernel reads none of it).
  const uint64_t row_bytes = std::max<uint64_t>(a.listed, 1) * 4;
  if (a.x.size < x_bytes || a.gram.size < gram_bytes || a.offsets.size < offset_bytes ||
      a.rows.size < row_bytes) {
    throw Error(what + ": a buffer is smaller than the shape needs");
  }
  const uint64_t slack = std::max<uint64_t>(1, device.min_storage_buffer_offset_alignment);
  if (x_bytes + slack > context.max_binding_range() ||
      gram_bytes + slack > context.max_binding_range() ||
      row_bytes + slack > context.max_binding_range()) {
    throw Error(what + ": X, the gram matrices or the row lists are larger than one binding");
  }
  AlignedBinding bx = align_binding(context, a.x.sub(0, x_bytes), 4);
  const AlignedBinding bc = align_binding(context, a.gram.sub(0, gram_bytes), 4);
  const AlignedBinding bo = align_binding(context, a.offsets.sub(0, offset_bytes), 4);
  const AlignedBinding br = align_binding(context, a.rows.sub(0, row_bytes), 4);
  const uint32_t step = device.type == VK_PHYSICAL_DEVICE_TYPE_CPU ? kStepCpu : kStep;
  const uint32_t tile_i = sg * kRowsPerLane, tile_j = sg * kColumnsPerLane;
  const vk::WorkGroups groups{(a.n + tile_j - 1) / tile_j, (a.n + tile_i - 1) / tile_i, a.experts};
  if (groups.x > device.max_workgroup_count[0] || groups.y > device.max_workgroup_count[1] ||
      groups.z > device.max_workgroup_count[2]) {
    throw Error(what + ": n or the experts are more than one grid covers");
  }
  const std::optional<AlignedBinding> texels = texel_view(context, a);
  if (texels) bx = *texels;
  // 16-byte loads need every row to start on a multiple of 4 elements (texels always do).
  const bool vector = a.n % 4 == 0 && a.x_stride % 4 == 0 && bx.first_element % 4 == 0;
  const uint32_t specialization[] = {sg, kColumnsPerLane, kRowsPerLane, vector ? 1u : 0u, step};
  const vk::Pipeline& pipeline =
      context.pipelines().get(texels ? "expert_gram_texels" : "expert_gram", specialization,
                              {4, 10 * sizeof(uint32_t), texels ? 1u : 0u});  // binding 0
  const vk::Binding bindings[] = {{bx.span, vk::Access::read},
                                  {bc.span, vk::Access::read_write},
                                  {bo.span, vk::Access::read},
                                  {br.span, vk::Access::read}};
  // One loop trip per 4 or 8 rows; drivers that bound loop iterations get the lists in parts. Every
  // expert's matrix is written by the first dispatch, even with no rows.
  const uint32_t per_dispatch = device.max_loop_iterations
                                    ? std::max<uint32_t>(1, device.max_loop_iterations / 2)
                                    : std::max<uint32_t>(1, a.longest);
  const uint32_t parts = std::max<uint32_t>(1, (a.longest + per_dispatch - 1) / per_dispatch);
  for (uint32_t part = 0; part < parts; ++part) {
    const uint32_t begin = part * per_dispatch, end = begin + per_dispatch;
    const uint32_t push[] = {a.n,
                             a.x_stride,
                             bx.first_element,
                             bc.first_element,
                             bo.first_element,
                             br.first_element,
                             a.n * a.n,
                             begin,
                             end,
                             part == 0 && !a.accumulate ? 0u : 1u};
    // The symmetric half is computed once; the rows of this part are known only on the
    // device, so the listed rows are spread over the parts by the longest list.
    const double rows =
        parts == 1 ? double(a.listed)
                   : double(a.listed) * (std::min(end, a.longest) - begin) / double(a.longest);
    const double flops = rows * double(a.n) * double(a.n + 1);
    const double bytes =
        rows * a.n * 4.0 + double(gram_bytes) * (part == 0 && !a.accumulate ? 1 : 2);
    stream.dispatch(pipeline, bindings, std::as_bytes(std::span(push)), groups, "expert_gram",
                    {flops, bytes});
  }
}

}  // namespace vkmoe::ops
