// A Hugging Face checkpoint: one model.safetensors file, or shards listed by
// model.safetensors.index.json. Opening maps every file and reads the headers only; tensors are
// found by name as zero-copy views.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loaders/mapped_file.h"
#include "loaders/tensor_view.h"

namespace vkmoe {

inline constexpr std::string_view kShardIndexName = "model.safetensors.index.json";
inline constexpr std::string_view kSingleFileName = "model.safetensors";

// model.safetensors.index.json: {"metadata": {"total_size": N}, "weight_map": {tensor: shard}}.
struct ShardIndex {
  std::optional<std::uint64_t> total_size;
  std::map<std::string, std::string, std::less<>> weight_map;  // tensor name → shard file name

  std::vector<std::string> shard_files() const;  // unique, sorted
};

// Shard names must be plain file names (no folders, no ".."): an index cannot point outside
// its own folder.
ShardIndex parse_shard_index(std::string_view json_text, std::string_view file_name);
ShardIndex read_shard_index(const std::filesystem::path& path);

class Checkpoint {
 public:
  // `path` is a folder (with model.safetensors.index.json or model.safetensors), a .safetensors
  // file, or an index .json file. Throws LoadError naming the file at fault.
  static Checkpoint open(const std::filesystem::path& path);

  const TensorView* find(std::string_view name) const;
  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::vector<std::filesystem::path>& files() const { return paths_; }
  std::uint64_t file_bytes() const;  // sum of the file sizes
  // "__metadata__" of the first file (e.g. {"format": "pt"}).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  void add_file(const std::filesystem::path& path);
  void index_names();

  std::vector<MappedFile> files_;
  std::vector<std::filesystem::path> paths_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> by_name_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vkmoe
