// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON describing
// every tensor (dtype, shape, data_offsets relative to the data section) plus an optional
// "__metadata__" object of strings, then the data section. Tensors are views into the mapped file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loaders/mapped_file.h"
#include "loaders/tensor_view.h"

namespace vkmoe {

// The reference implementation's limit: a larger header is refused before it is parsed.
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorsHeader {
  std::uint64_t data_offset = 0;    // 8 + header length: where the data section starts
  std::vector<TensorView> tensors;  // ordered by position in the data section
  std::map<std::string, std::string> metadata;
};

// Parses and checks the header of a whole safetensors file held in `file`: header length limit,
// JSON, dtypes, byte size = dtype size × shape, data_offsets inside the data section and tiling
// it without gaps or overlap, unique names. Views point into `file`. Throws LoadError with
// `file_name` and the tensor or offset at fault.
SafetensorsHeader parse_safetensors(std::span<const std::byte> file, std::string_view file_name);

class SafetensorsFile {
 public:
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  std::uint64_t file_size() const { return file_.size(); }
  const std::vector<TensorView>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

 private:
  MappedFile file_;
  SafetensorsHeader header_;
};

}  // namespace vkmoe
