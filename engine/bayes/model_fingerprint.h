// Which model a posterior belongs to: FNV-1a 64 over the architecture settings and the sorted
// list of tensor names, shapes and dtypes the config implies (loaders/model_description.h, in
// the per-expert layout, so a sharded, fused or single-file copy of the same checkpoint gets the
// same fingerprint). Not a hash of the weights: it refuses a posterior made for another model
// or another quantisation, in microseconds, without reading a weight.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "loaders/model_config.h"

namespace vkmoe::bayes {

inline constexpr std::uint64_t kFnv1a64Offset = 14695981039346656037ull;

// FNV-1a, 64 bits, continued from `hash`.
std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t hash = kFnv1a64Offset);

std::uint64_t model_fingerprint(const ModelConfig& config);

// 16 lowercase hex digits, as stored in posterior files.
std::string fingerprint_hex(std::uint64_t fingerprint);

}  // namespace vkmoe::bayes
