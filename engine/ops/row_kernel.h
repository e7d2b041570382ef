// What the row kernels (reduce, softmax, rmsnorm, top-k) share: one workgroup per row of an
// f32 [rows, cols] matrix, a choice of how the workgroup reduces, and the checks every
// launcher makes on its spans.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/vk/context.h"
#include "engine/vk/stream.h"

namespace vkmoe::ops {

// How a workgroup combines its invocations' partial values. `automatic` takes subgroup
// arithmetic where the device has it; tests force each path to compare the two.
enum class RowReduction { automatic, shared_memory, subgroup };

// Invocations per row, a power of two: 256 for long rows, 64 for rows of at most 512 columns
// (a wide group on a short row idles most invocations and pays for every barrier), never
// more than the device allows.
uint32_t row_group_size(const vk::Context& context, uint32_t cols);

// The pipeline of `shader` (built as `shader` and `shader`_subgroup) for the chosen
// reduction, specialised with the group size for rows of `cols`. Throws if `subgroup` is
// forced on a device without subgroup arithmetic.
const vk::Pipeline& row_pipeline(vk::Context& context, std::string_view shader,
                                 RowReduction reduction, uint32_t cols, vk::KernelLayout layout);

// "<rows>x<cols>", for error messages.
std::string shape_text(uint64_t rows, uint64_t cols);

// Throws "<kernel>: <what> holds N bytes, needs M for <shape>" when `span` is too small.
void require_bytes(std::string_view kernel, std::string_view what, const vk::BufferSpan& span,
                   uint64_t bytes, std::string_view shape);

// An output may alias its input exactly (in place) or not at all; a partial overlap would
// let one row's write clobber another's input.
void require_in_place_or_disjoint(std::string_view kernel, const vk::BufferSpan& input,
                                  const vk::BufferSpan& output);

}  // namespace vkmoe::ops
