// Element types of tensors in checkpoint files (safetensors and GGUF), with their storage sizes.
// Quantized types store elements in fixed-size blocks along the innermost dimension.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vkmoe {

enum class DType : std::uint8_t {
  kF32,
  kF16,
  kBF16,
  kI32,
  kI64,
  kU8,
  kBool,
  kQ8_0,  // ggml: 32 elements, f16 scale + 32 × int8
  kQ4_0,  // ggml: 32 elements, f16 scale + 16 bytes of 4-bit codes
  kQ4_K,  // ggml: 256 elements, f16 scale and min + 12 bytes of 6-bit sub-scales + 128 bytes
};

std::string_view dtype_name(DType t);  // "F32", "BF16", "Q4_K", ...

std::int64_t dtype_block_elems(DType t);  // 1 for plain types
std::int64_t dtype_block_bytes(DType t);  // bytes of one block (element size for plain types)

bool dtype_is_float(DType t);  // F32, F16, BF16 and the quantized types

// Bytes that `elems` elements occupy; nullopt when `elems` is negative, not a whole number of
// blocks, or the size overflows 64 bits.
std::optional<std::uint64_t> dtype_bytes(DType t, std::int64_t elems);

// a * b, or nullopt on overflow.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b);
std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b);

}  // namespace vkmoe
