#include "engine/model/host_tensor.h"

#include <cstring>
#include <stdexcept>
#include <string>

#include "loaders/quant_blocks.h"

namespace vkmoe::model {

ops::DType device_type(DType t) {
  switch (t) {
    case DType::kF16:
      return ops::DType::f16;
    case DType::kBF16:
      return ops::DType::bf16;
    case DType::kQ8_0:
      return ops::DType::q8_0;
    case DType::kQ4_0:
      return ops::DType::q4_0;
    case DType::kQ4_K:
      return ops::DType::q4_k;
    default:
      return ops::DType::f32;
  }
}

DType stored_type(ops::DType type) {
  switch (type) {
    case ops::DType::f32:
      return DType::kF32;
    case ops::DType::f16:
      return DType::kF16;
    case ops::DType::bf16:
      return DType::kBF16;
    case ops::DType::q8_0:
      return DType::kQ8_0;
    case ops::DType::q4_0:
      return DType::kQ4_0;
    case ops::DType::q4_k:
      return DType::kQ4_K;
  }
  throw std::invalid_argument("stored_type: unknown weight type");
}

bool decoded_on_host(DType t) {
  return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16 && t != DType::kQ8_0 &&
         t != DType::kQ4_0 && t != DType::kQ4_K;
}

HostTensor::HostTensor(const ResolvedTensor& t, ops::DType type)
    : type_(type), elements_(t.view->numel()) {
  const TensorView& v = *t.view;
  const bool as_stored = device_type(v.dtype) == type && !decoded_on_host(v.dtype);
  if (!as_stored && type != ops::DType::f32) {
    throw std::invalid_argument(v.name + ": cannot convert " + std::string(dtype_name(v.dtype)) +
                                " to " + std::string(ops::dtype_name(type)));
  }
  if (as_stored && t.rows == RowOrder::kAsIs) {
    file_ = v.bytes;
    return;
  }
  std::vector<std::byte> data;
  if (as_stored) {
    data.assign(v.bytes.begin(), v.bytes.end());
  } else {
    data.resize(static_cast<std::size_t>(elements_) * sizeof(float));
    decode_to_f32(v.dtype, v.bytes,
                  std::span<float>(reinterpret_cast<float*>(data.data()),
                                   static_cast<std::size_t>(elements_)));
  }
  if (t.rows == RowOrder::kRopeInterleaved) {
    // llama.cpp's converter interleaved the two rotary halves of each head; undo it row by row
    // (a 1-D bias has rows of one element).
    const std::int64_t rows = v.shape.empty() ? 1 : v.shape.front();
    const auto row_bytes = static_cast<std::size_t>(
        ops::dtype_row_bytes(type, static_cast<std::uint64_t>(elements_ / rows)));
    owned_.resize(data.size());
    for (std::int64_t r = 0; r < rows; ++r) {
      const auto to = static_cast<std::size_t>(hf_row(r, t.rope_head_dim));
      std::memcpy(owned_.data() + to * row_bytes,
                  data.data() + static_cast<std::size_t>(r) * row_bytes, row_bytes);
    }
  } else {
    owned_ = std::move(data);
  }
}

std::span<const std::byte> HostTensor::range(std::int64_t first, std::int64_t count) const {
  const std::span<const std::byte> all = owned_.empty() ? file_ : std::span(owned_);
  if (first < 0 || count < 0 || first + count > elements_) {
    throw std::out_of_range("HostTensor::range: elements [" + std::to_string(first) + ", " +
                            std::to_string(first + count) + ") of " + std::to_string(elements_));
  }
  return all.subspan(
      static_cast<std::size_t>(ops::dtype_row_bytes(type_, static_cast<std::uint64_t>(first))),
      static_cast<std::size_t>(ops::dtype_row_bytes(type_, static_cast<std::uint64_t>(count))));
}

}  // namespace vkmoe::model
