// What every kernel launcher needs: offsets that meet the device's binding alignment, grids
// that respect maxComputeWorkGroupCount, and tensors split so no binding passes
// maxStorageBufferRange.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
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

// `element_bytes` (the unit first_element counts: an element, or dtype_binding_unit() for
// weights) must divide the alignment remainder (true for 1, 2, 4, 8-byte types on
// 4-byte-aligned data; Error otherwise). The bound range still covers the last byte of `span`.
AlignedBinding align_binding(const vk::Context& context, vk::BufferSpan span,
                             uint32_t element_bytes);

// `span` bound as a storage texel buffer of 16-byte RGBA32UI texels
// (vk::KernelLayout::texel_bindings), for the kernels that read their inputs that way on CPU
// devices: on lavapipe an imageLoad is inline code reading 16 bytes per lane, where a storage
// read is a loop over the SIMD lanes and a uniform texel fetch a call into a sampling function.
// nullopt where that does not apply: not a CPU device, `span` not starting and ending on whole
// texels of its texel-aligned view, or a view larger than the device allows. `first_element`
// counts units of `element_bytes`; rows on whole texels are the caller's check.
std::optional<AlignedBinding> texel_binding(const vk::Context& context, vk::BufferSpan span,
                                            uint32_t element_bytes);

// A 1-D launch of `invocations` threads in groups of `group_size`, folded into x and y when
// it exceeds the x limit. Shaders recover the linear index as
//   gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x.
vk::WorkGroups linear_grid(const vk::Context& context, uint64_t invocations, uint32_t group_size);

// Calls `launch(first, count)` over [0, total) in pieces whose bytes (count * unit_bytes) fit in
// one binding together with the alignment slack, and of at most `max_count` units. `unit_bytes`
// is the size of one indivisible unit (an element, a row).
void for_each_chunk(const vk::Context& context, uint64_t total, uint64_t unit_bytes,
                    const std::function<void(uint64_t first, uint64_t count)>& launch,
                    uint64_t max_count = UINT64_MAX);

// The most rows `stride` elements apart whose element indices a shader can count in 32 bits.
// Quantised weights pack more than 2^32 elements into a 4 GiB binding, so weight chunks are
// capped by this as well as by bytes.
uint64_t rows_with_u32_indices(uint64_t stride);

template <typename T>
std::span<const std::byte> push_bytes(const T& constants) {
  return std::as_bytes(std::span<const T, 1>(&constants, 1));
}

// Weight types the kernels read. f32, f16 and bf16 are plain arrays; q8_0, q4_0 and q4_k are
// GGUF's blocks (loaders/quant_blocks.h), stored as in the file: 32 weights in 34 bytes,
// 32 in 18, 256 in 144. A row of a quantised matrix is a whole number of blocks.
enum class DType { f32, f16, bf16, q8_0, q4_0, q4_k };
std::string_view dtype_name(DType type);
bool dtype_is_quantized(DType type);
uint32_t dtype_block_elements(DType type);  // 1 for the plain types
uint32_t dtype_block_bytes(DType type);
// Bytes of `elements` consecutive weights of a row (or of whole rows); throws Error when
// `elements` is not a whole number of blocks.
uint64_t dtype_row_bytes(DType type, uint64_t elements);
// The unit, in bytes, that AlignedBinding::first_element counts for a weight binding of this
// type: an element for the plain types; for the quants, the word the shader addresses the
// blocks by (uint16_t for q8_0 and q4_0, whose blocks are 2-byte aligned; uvec4 for q4_k).
uint32_t dtype_binding_unit(DType type);
// Bytes a [rows, cols] matrix whose rows lie `stride` elements apart spans (0 for no rows).
uint64_t dtype_matrix_bytes(DType type, uint64_t rows, uint64_t cols, uint64_t stride);
// Throws Error, prefixed with `what`, unless rows of `cols` weights `stride` apart are whole
// blocks of `type` (always true for the plain types).
void check_whole_blocks(std::string_view what, DType type, uint64_t cols, uint64_t stride);
// Whether weights.glsl's load_weights8 (16-byte loads) can read rows `stride` elements apart
// from a binding whose first_element is `first`: quantised rows always (they are whole
// blocks); plain rows when both are multiples of 8 elements.
bool rows_load8(DType type, uint32_t first, uint64_t stride);
// Whether reading the type needs storageBuffer16BitAccess.
bool dtype_needs_16bit_storage(DType type);

}  // namespace vkmoe::ops
