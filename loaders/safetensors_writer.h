// Writes a safetensors file (the format loaders/safetensors.h reads): F32 and I64 tensors in
// the order they were added, plus "__metadata__" strings. The file is written beside its target
// under a temporary name, flushed to disk (fsync) and renamed over the target, so a reader or a
// crash never sees half a file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "loaders/dtype.h"

namespace vkmoe {

struct WriteError : std::runtime_error {
  using runtime_error::runtime_error;
};

// What a tensor's header entry needs; the writer lays tensors out in the order given.
struct SafetensorsTensorLayout {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
};

// The JSON header, padded with spaces to a multiple of 8 bytes (so the data section is
// aligned), for tensors stored back to back in `tensors` order.
std::string safetensors_header(std::span<const SafetensorsTensorLayout> tensors,
                               const std::map<std::string, std::string>& metadata);

// Bytes of the whole file: 8 + header + data. Throws WriteError for a non-plain dtype.
std::uint64_t safetensors_file_bytes(std::span<const SafetensorsTensorLayout> tensors,
                                     const std::map<std::string, std::string>& metadata);

class SafetensorsWriter {
 public:
  // Throw WriteError naming the tensor for a duplicate name, a negative dimension, or a shape
  // whose element count differs from the data's.
  void add_f32(std::string name, std::vector<std::int64_t> shape, std::span<const float> data);
  void add_i64(std::string name, std::vector<std::int64_t> shape,
               std::span<const std::int64_t> data);
  void set_metadata(std::string key, std::string value);

  // Throws WriteError "<path>: ..." when the file cannot be created, written, synced or renamed;
  // the target is then untouched.
  void write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    SafetensorsTensorLayout layout;
    std::vector<std::byte> bytes;
  };
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape, const void* data,
           std::size_t count, std::size_t element_bytes);

  std::vector<Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vkmoe
