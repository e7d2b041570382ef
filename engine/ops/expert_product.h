// What the two routed-expert launchers (moe_gemm for prompts, moe_gemv for decode) check alike:
// the shape of "every routing entry's input row through its expert's nn.Linear weight".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ops/launch.h"
#include "engine/vk/context.h"

namespace vkmoe::ops {

// Expert weights [experts, m, k]: whole experts back to back, in one buffer or, for a stack
// larger than one allocation, in several. Part p holds experts [p·per_part, (p+1)·per_part).
// A single span converts implicitly, so callers with one buffer pass it as before.
struct ExpertWeights {
  std::vector<vk::BufferSpan> parts;
  uint32_t experts_per_part = UINT32_MAX;

  ExpertWeights() = default;
  ExpertWeights(vk::BufferSpan whole) : parts{whole} {}  // NOLINT(google-explicit-constructor)
  ExpertWeights(std::vector<vk::BufferSpan> p, uint32_t per_part)
      : parts(std::move(p)), experts_per_part(per_part) {}
};

// One dispatch's worth of experts: [first, first + count), all in `w` (one binding's range).
struct ExpertGroup {
  uint32_t first = 0, count = 0;
  vk::BufferSpan w;
};

struct ExpertProductShape {
  DType w_type = DType::f32;
  uint32_t experts = 0, m = 0, k = 0, tokens = 0, top_k = 1;
  bool x_per_entry = false;  // X row = entry (down_proj) instead of token (gate/up)
};

struct ExpertProductSizes {
  std::string what;  // "<kernel>_<dtype> (experts E, m M, k K, tokens T, top-k J)", for errors
  uint64_t entries = 0, x_rows = 0, expert_bytes = 0;
  uint64_t binding_range = 0,
           alignment = 1;  // maxStorageBufferRange (or the test limit), offset alignment
};

// Throws Error (naming the kernel and shape) for non-positive sizes, top-k above the experts,
// spans of X [x_rows, k], W [experts, m, k] (every part the experts it holds) or Y [entries, m]
// smaller than the shape, 16-bit weights on a device that cannot read them, activations or one
// expert's matrix larger than one binding.
ExpertProductSizes check_expert_product(const vk::Context& context, std::string_view kernel,
                                        const ExpertProductShape& shape, uint64_t x_bytes,
                                        const ExpertWeights& w, uint64_t y_bytes);

// The experts cut into dispatches: never across a part, at most `max_group` experts each.
std::vector<ExpertGroup> expert_groups(const ExpertWeights& w, uint32_t experts,
                                       uint64_t expert_bytes, uint32_t max_group);

}  // namespace vkmoe::ops
