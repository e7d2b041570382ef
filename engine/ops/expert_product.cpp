#include "engine/ops/expert_product.h"

#include <algorithm>

#include "engine/vk/error.h"

namespace vkmoe::ops {

ExpertProductSizes check_expert_product(const vk::Context& context, std::string_view kernel,
                                        const ExpertProductShape& s, uint64_t x_bytes,
                                        const ExpertWeights& w, uint64_t y_bytes) {
  ExpertProductSizes sizes;
  sizes.what = std::string(kernel) + "_" + std::string(dtype_name(s.w_type)) + " (experts " +
               std::to_string(s.experts) + ", m " + std::to_string(s.m) + ", k " +
               std::to_string(s.k) + ", tokens " + std::to_string(s.tokens) + ", top-k " +
               std::to_string(s.top_k) + ")";
  const std::string& what = sizes.what;
  if (s.experts == 0 || s.m == 0 || s.k == 0 || s.tokens == 0 || s.top_k == 0 ||
      s.top_k > s.experts) {
    throw Error(what + ": every size must be positive and top-k at most the experts");
  }
  sizes.entries = uint64_t{s.tokens} * s.top_k;
  sizes.x_rows = s.x_per_entry ? sizes.entries : s.tokens;
  check_whole_blocks(what, s.w_type, s.k, s.k);
  sizes.expert_bytes = dtype_matrix_bytes(s.w_type, s.m, s.k, s.k);
  if (x_bytes < sizes.x_rows * s.k * 4 || y_bytes < sizes.entries * s.m * 4) {
    throw Error(what + ": a buffer is smaller than the shape needs");
  }
  if (w.parts.empty() || w.experts_per_part == 0 ||
      (w.parts.size() - 1) * uint64_t{w.experts_per_part} >= s.experts) {
    throw Error(what + ": " + std::to_string(w.parts.size()) + " weight parts of " +
                std::to_string(w.experts_per_part) + " experts do not match the experts");
  }
  for (std::size_t p = 0; p < w.parts.size(); ++p) {
    const uint64_t first = p * uint64_t{w.experts_per_part};
    const uint64_t held = std::min<uint64_t>(w.experts_per_part, s.experts - first);
    if (w.parts[p].size < held * sizes.expert_bytes) {
      throw Error(what + ": weight part " + std::to_string(p) + " holds " +
                  std::to_string(w.parts[p].size) + " bytes, " + std::to_string(held) +
                  " experts need " + std::to_string(held * sizes.expert_bytes));
    }
  }
  if (dtype_needs_16bit_storage(s.w_type) && !context.info().storage_buffer_16bit) {
    throw Error(what + ": the device cannot read 16-bit weights (no storageBuffer16BitAccess)");
  }
  const uint64_t range = sizes.binding_range = context.max_binding_range();
  const uint64_t alignment = sizes.alignment =
      std::max<uint64_t>(1, context.info().min_storage_buffer_offset_alignment);
  if (sizes.x_rows * s.k * 4 + alignment > range || sizes.entries * s.m * 4 + alignment > range) {
    throw Error(what + ": activations larger than one binding; run fewer tokens at a time");
  }
  if (sizes.expert_bytes + alignment > range) {
    throw Error(what + ": one expert's matrix (" + std::to_string(sizes.expert_bytes) +
                " bytes) is larger than one binding (maxStorageBufferRange)");
  }
  return sizes;
}

std::vector<ExpertGroup> expert_groups(const ExpertWeights& w, uint32_t experts,
                                       uint64_t expert_bytes, uint32_t max_group) {
  std::vector<ExpertGroup> groups;
  for (std::size_t p = 0; p < w.parts.size(); ++p) {
    const uint32_t part_first = static_cast<uint32_t>(p * uint64_t{w.experts_per_part});
    const uint32_t part_end = static_cast<uint32_t>(
        std::min<uint64_t>(experts, uint64_t{part_first} + w.experts_per_part));
    for (uint32_t first = part_first; first < part_end; first += max_group) {
      const uint32_t count = std::min(max_group, part_end - first);
      groups.push_back({first, count,
                        w.parts[p].sub((first - part_first) * expert_bytes, count * expert_bytes)});
    }
  }
  return groups;
}

}  // namespace vkmoe::ops
