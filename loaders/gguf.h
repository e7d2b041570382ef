// GGUF (v2 and v3, little-endian) as ggml defines it: header, typed metadata key/values, tensor
// infos, aligned data section. Metadata strings and arrays are views into the mapped file;
// tensors are TensorViews with the shape in PyTorch order (GGUF stores ne[0], the innermost
// dimension, first; it is reversed here).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "loaders/mapped_file.h"
#include "loaders/tensor_view.h"

namespace vkmoe {

enum class GgufType : std::uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view gguf_type_name(GgufType t);

struct GgufArray {
  GgufType type = GgufType::kU8;  // element type
  std::uint64_t count = 0;
  std::span<const std::byte> bytes;  // the elements as stored (checked when the file was read)
};

struct GgufValue {
  GgufType type = GgufType::kU8;
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string_view, GgufArray> value;

  std::optional<std::int64_t> as_int() const;  // any integer type that fits in int64
  std::optional<double> as_number() const;     // integers and floats
  std::optional<bool> as_bool() const;
  std::optional<std::string_view> as_string() const;
  const GgufArray* as_array() const;
};

// ggml tensor types by id, for messages ("Q6_K"); empty for an unknown id.
std::string_view ggml_type_name(std::uint32_t id);

class GgufFile {
 public:
  static GgufFile open(const std::filesystem::path& path);
  // Parses a file held in memory; the result views into `bytes`, which must outlive it.
  static GgufFile parse(std::span<const std::byte> bytes, std::string_view file_name);

  const std::string& name() const { return name_; }
  std::uint32_t version() const { return version_; }
  std::uint64_t alignment() const { return alignment_; }
  std::uint64_t data_offset() const { return data_offset_; }
  std::uint64_t file_size() const { return size_; }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find_tensor(std::string_view name) const;

  // Typed array access; throws LoadError naming the key when the element type differs.
  std::vector<std::string> strings(std::string_view key) const;
  std::vector<float> floats(std::string_view key) const;
  std::vector<std::int32_t> ints(std::string_view key) const;

 private:
  MappedFile file_;
  std::string name_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::uint64_t data_offset_ = 0;
  std::uint64_t size_ = 0;
  std::map<std::string, GgufValue, std::less<>> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace vkmoe
