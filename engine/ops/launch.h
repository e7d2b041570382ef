// What every kernel launcher needs: offsets that meet the device's binding alignment, grids
// that respect maxComputeWorkGroupCount, and tensors split so no binding passes
// maxStorageBufferRange.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "engine/vk/context.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// A binding whose offset was rounded down to minStorageBufferOffsetAlignment; the shader adds
// `first_element` (in elements of the bound type) to every index.
struct AlignedBinding {
  vk::BufferSpan span;
  uint32_t first_element = 0;
};

// `element_bytes` must divide the alignment remainder (true for 1, 2, 4, 8-byte types on
// 4-byte-aligned data). The bound range still covers the last byte of `span`.
AlignedBinding align_binding(const vk::Context& context, vk::BufferSpan span,
                             uint32_t element_bytes);

// A 1-D launch of `invocations` threads in groups of `group_size`, folded into x and y when
// it exceeds the x limit. Shaders recover the linear index as
//   gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x.
vk::WorkGroups linear_grid(const vk::Context& context, uint64_t invocations, uint32_t group_size);

// Calls `launch(first, count)` over [0, total) in pieces whose bytes (count * unit_bytes) fit in
// one binding together with the alignment slack. `unit_bytes` is the size of one indivisible
// unit (an element, a row).
void for_each_chunk(const vk::Context& context, uint64_t total, uint64_t unit_bytes,
                    const std::function<void(uint64_t first, uint64_t count)>& launch);

template <typename T>
std::span<const std::byte> push_bytes(const T& constants) {
  return std::as_bytes(std::span<const T, 1>(&constants, 1));
}

// Elements of each dtype the kernels read.
enum class DType { f32, f16, bf16 };
uint32_t dtype_bytes(DType type);
std::string_view dtype_name(DType type);

}  // namespace vkmoe::ops
