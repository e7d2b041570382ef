// A tensor inside a memory-mapped checkpoint file: type, shape and the bytes, without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "loaders/dtype.h"

namespace vkmoe {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;   // row-major, outermost dimension first (PyTorch order)
  std::span<const std::byte> bytes;  // points into the mapped file; lives as long as the file
  std::string file;                  // file name, for messages
  std::uint64_t file_offset = 0;     // where `bytes` starts in the file

  std::int64_t numel() const {
    std::int64_t n = 1;
    for (std::int64_t d : shape) n *= d;  // shapes are overflow-checked when files are read
    return n;
  }
};

// "[2048, 60]" for messages.
std::string shape_string(std::span<const std::int64_t> shape);

}  // namespace vkmoe
