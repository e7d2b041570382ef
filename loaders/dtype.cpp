#include "loaders/dtype.h"

namespace vkmoe {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    case DType::kI32:
      return "I32";
    case DType::kI64:
      return "I64";
    case DType::kU8:
      return "U8";
    case DType::kBool:
      return "BOOL";
    case DType::kQ8_0:
      return "Q8_0";
    case DType::kQ4_0:
      return "Q4_0";
    case DType::kQ4_K:
      return "Q4_K";
  }
  return "?";
}

std::int64_t dtype_block_elems(DType t) {
  switch (t) {
    case DType::kQ8_0:
    case DType::kQ4_0:
      return 32;
    case DType::kQ4_K:
      return 256;
    default:
      return 1;
  }
}

std::int64_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kF16:
      return 2;
    case DType::kBF16:
      return 2;
    case DType::kI32:
      return 4;
    case DType::kI64:
      return 8;
    case DType::kU8:
      return 1;
    case DType::kBool:
      return 1;
    case DType::kQ8_0:
      return 34;
    case DType::kQ4_0:
      return 18;
    case DType::kQ4_K:
      return 144;
  }
  return 0;
}

bool dtype_is_float(DType t) {
  switch (t) {
    case DType::kI32:
    case DType::kI64:
    case DType::kU8:
    case DType::kBool:
      return false;
    default:
      return true;
  }
}

std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<std::uint64_t> dtype_bytes(DType t, std::int64_t elems) {
  if (elems < 0) return std::nullopt;
  const auto block = static_cast<std::uint64_t>(dtype_block_elems(t));
  const auto n = static_cast<std::uint64_t>(elems);
  if (n % block != 0) return std::nullopt;
  return checked_mul(n / block, static_cast<std::uint64_t>(dtype_block_bytes(t)));
}

}  // namespace vkmoe
