#include "engine/ops/row_kernel.h"

#include <algorithm>
#include <bit>

#include "engine/vk/error.h"

namespace vkmoe::ops {

uint32_t row_group_size(const vk::Context& context, uint32_t cols) {
  const uint32_t preferred = cols <= 512 ? 64 : 256;
  return std::min(preferred, std::bit_floor(context.info().max_workgroup_invocations));
}

const vk::Pipeline& row_pipeline(vk::Context& context, std::string_view shader,
                                 RowReduction reduction, uint32_t cols, vk::KernelLayout layout) {
  const bool has_subgroup_arithmetic = context.info().subgroup_arithmetic;
  if (reduction == RowReduction::subgroup && !has_subgroup_arithmetic) {
    throw Error(std::string(shader) + ": the subgroup reduction was asked for, but " +
                context.info().name + " has no subgroup arithmetic in compute shaders");
  }
  const bool subgroup = reduction == RowReduction::subgroup ||
                        (reduction == RowReduction::automatic && has_subgroup_arithmetic);
  const std::string variant = std::string(shader) + (subgroup ? "_subgroup" : "");
  const uint32_t specialization[] = {row_group_size(context, cols)};
  return context.pipelines().get(variant, specialization, layout);
}

std::string shape_text(uint64_t rows, uint64_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

void require_bytes(std::string_view kernel, std::string_view what, const vk::BufferSpan& span,
                   uint64_t bytes, std::string_view shape) {
  if (span.size < bytes) {
    throw Error(std::string(kernel) + ": " + std::string(what) + " holds " +
                std::to_string(span.size) + " bytes, needs " + std::to_string(bytes) + " for " +
                std::string(shape));
  }
}

void require_in_place_or_disjoint(std::string_view kernel, const vk::BufferSpan& input,
                                  const vk::BufferSpan& output) {
  if (input.overlaps(output) && input.offset != output.offset) {
    throw Error(std::string(kernel) + ": the output overlaps the input at a different offset (" +
                std::to_string(output.offset) + " vs " + std::to_string(input.offset) +
                "); pass the same span to run in place, or disjoint spans");
  }
}

}  // namespace vkmoe::ops
