#include "engine/ops/launch.h"

#include <algorithm>

#include "engine/vk/error.h"

namespace vkmoe::ops {

AlignedBinding align_binding(const vk::Context& context, vk::BufferSpan span,
                             uint32_t element_bytes) {
  const VkDeviceSize alignment =
      std::max<VkDeviceSize>(1, context.info().min_storage_buffer_offset_alignment);
  const VkDeviceSize remainder = span.offset % alignment;
  if (remainder % element_bytes) {
    throw Error("a tensor offset of " + std::to_string(span.offset) +
                " bytes is not a multiple of its element size " + std::to_string(element_bytes));
  }
  AlignedBinding bound;
  bound.span = {span.buffer, span.offset - remainder, span.size + remainder};
  bound.first_element = static_cast<uint32_t>(remainder / element_bytes);
  return bound;
}

vk::WorkGroups linear_grid(const vk::Context& context, uint64_t invocations, uint32_t group_size) {
  const uint64_t groups = (invocations + group_size - 1) / group_size;
  const uint64_t max_x = context.info().max_workgroup_count[0];
  if (groups <= max_x) return {static_cast<uint32_t>(groups), 1, 1};
  const uint64_t y = (groups + max_x - 1) / max_x;
  const uint64_t x = (groups + y - 1) / y;
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(y), 1};
}

void for_each_chunk(const vk::Context& context, uint64_t total, uint64_t unit_bytes,
                    const std::function<void(uint64_t first, uint64_t count)>& launch) {
  const VkDeviceSize alignment =
      std::max<VkDeviceSize>(1, context.info().min_storage_buffer_offset_alignment);
  const VkDeviceSize usable = context.max_binding_range() - alignment;
  const uint64_t per_chunk = usable / unit_bytes;
  if (per_chunk == 0) {
    throw Error("one unit of " + std::to_string(unit_bytes) +
                " bytes is larger than a binding may be (maxStorageBufferRange " +
                std::to_string(context.max_binding_range()) + ")");
  }
  for (uint64_t first = 0; first < total; first += per_chunk) {
    launch(first, std::min(per_chunk, total - first));
  }
}

uint32_t dtype_bytes(DType type) {
  switch (type) {
    case DType::f32:
      return 4;
    case DType::f16:
      return 2;
    case DType::bf16:
      return 2;
  }
  return 4;
}

std::string_view dtype_name(DType type) {
  switch (type) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

}  // namespace vkmoe::ops
