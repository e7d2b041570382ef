#include "engine/ops/launch.h"

#include <algorithm>
#include <string>

#include "engine/vk/error.h"

namespace vkmoe::ops {

AlignedBinding align_binding(const vk::Context& context, vk::BufferSpan span,
                             uint32_t element_bytes) {
  const VkDeviceSize alignment =
      std::max<VkDeviceSize>(1, context.info().min_storage_buffer_offset_alignment);
  const VkDeviceSize remainder = span.offset % alignment;
  if (remainder % element_bytes) {
    throw Error("a tensor offset of " + std::to_string(span.offset) +
                " bytes is not a multiple of its addressing unit of " +
                std::to_string(element_bytes));
  }
  AlignedBinding bound;
  bound.span = {span.buffer, span.offset - remainder, span.size + remainder};
  bound.first_element = static_cast<uint32_t>(remainder / element_bytes);
  return bound;
}

std::optional<AlignedBinding> texel_binding(const vk::Context& context, vk::BufferSpan span,
                                            uint32_t element_bytes) {
  const vk::DeviceInfo& device = context.info();
  constexpr uint64_t kTexelBytes = 16;
  if (device.type != VK_PHYSICAL_DEVICE_TYPE_CPU || span.size == 0) return std::nullopt;
  const uint64_t alignment = std::max<uint64_t>(1, device.min_texel_buffer_offset_alignment);
  const uint64_t remainder = span.offset % alignment, view_bytes = span.size + remainder;
  if (remainder % kTexelBytes != 0 || view_bytes % kTexelBytes != 0 ||
      view_bytes / kTexelBytes > device.max_texel_buffer_elements) {
    return std::nullopt;
  }
  return AlignedBinding{{span.buffer, span.offset - remainder, view_bytes},
                        static_cast<uint32_t>(remainder / element_bytes)};
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
                    const std::function<void(uint64_t first, uint64_t count)>& launch,
                    uint64_t max_count) {
  const VkDeviceSize alignment =
      std::max<VkDeviceSize>(1, context.info().min_storage_buffer_offset_alignment);
  const VkDeviceSize usable = context.max_binding_range() - alignment;
  const uint64_t per_chunk = std::min<uint64_t>(usable / unit_bytes, max_count);
  if (per_chunk == 0) {
    throw Error("one unit of " + std::to_string(unit_bytes) +
                " bytes is larger than a binding may be (maxStorageBufferRange " +
                std::to_string(context.max_binding_range()) + ")");
  }
  for (uint64_t first = 0; first < total; first += per_chunk) {
    launch(first, std::min(per_chunk, total - first));
  }
}

uint64_t rows_with_u32_indices(uint64_t stride) {
  return std::max<uint64_t>(1, uint64_t{UINT32_MAX} / std::max<uint64_t>(1, stride));
}

std::string_view dtype_name(DType type) {
  switch (type) {
    case DType::f32:
      return "f32";
    case DType::f16:
      return "f16";
    case DType::bf16:
      return "bf16";
    case DType::q8_0:
      return "q8_0";
    case DType::q4_0:
      return "q4_0";
    case DType::q4_k:
      return "q4_k";
  }
  return "?";
}

bool dtype_is_quantized(DType type) {
  return type == DType::q8_0 || type == DType::q4_0 || type == DType::q4_k;
}

uint32_t dtype_block_elements(DType type) {
  switch (type) {
    case DType::q8_0:
    case DType::q4_0:
      return 32;
    case DType::q4_k:
      return 256;
    default:
      return 1;
  }
}

uint32_t dtype_block_bytes(DType type) {
  switch (type) {
    case DType::f32:
      return 4;
    case DType::f16:
    case DType::bf16:
      return 2;
    case DType::q8_0:
      return 34;
    case DType::q4_0:
      return 18;
    case DType::q4_k:
      return 144;
  }
  return 4;
}

uint64_t dtype_row_bytes(DType type, uint64_t elements) {
  const uint32_t block = dtype_block_elements(type);
  if (elements % block != 0) {
    throw Error(std::to_string(elements) + " " + std::string(dtype_name(type)) +
                " weights are not a whole number of blocks of " + std::to_string(block));
  }
  return elements / block * dtype_block_bytes(type);
}

uint32_t dtype_binding_unit(DType type) {
  switch (type) {
    case DType::q8_0:
    case DType::q4_0:
      return 2;
    case DType::q4_k:
      return 16;
    default:
      return dtype_block_bytes(type);
  }
}

uint64_t dtype_matrix_bytes(DType type, uint64_t rows, uint64_t cols, uint64_t stride) {
  return rows == 0 ? 0 : dtype_row_bytes(type, (rows - 1) * stride) + dtype_row_bytes(type, cols);
}

void check_whole_blocks(std::string_view what, DType type, uint64_t cols, uint64_t stride) {
  const uint32_t block = dtype_block_elements(type);
  if (cols % block != 0 || stride % block != 0) {
    throw Error(std::string(what) + ": rows of " + std::to_string(cols) + " weights, " +
                std::to_string(stride) + " apart, are not whole " + std::string(dtype_name(type)) +
                " blocks of " + std::to_string(block) + " weights");
  }
}

bool rows_load8(DType type, uint32_t first, uint64_t stride) {
  return dtype_is_quantized(type) || (first % 8 == 0 && stride % 8 == 0);
}

bool dtype_needs_16bit_storage(DType type) {
  return type == DType::f16 || type == DType::bf16 || type == DType::q8_0 || type == DType::q4_0;
}

}  // namespace vkmoe::ops
