// Opening a model from a path the user gave: a Hugging Face folder (config.json + safetensors,
// single or sharded) or a .gguf file. Maps files and reads headers only; the weights are not
// touched. A folder with config.json and the shard index but no weights (a "config-only copy")
// opens too, for `vkmoe info` and planning.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>

#include "loaders/checkpoint.h"
#include "loaders/gguf.h"
#include "loaders/model_config.h"
#include "loaders/model_description.h"

namespace vkmoe {

enum class ModelFormat : std::uint8_t { kHuggingFace, kGguf };

struct ModelFiles {
  std::filesystem::path path;
  ModelFormat format = ModelFormat::kHuggingFace;
  ModelConfig config;
  std::optional<ShardIndex> index;       // HF sharded
  std::optional<Checkpoint> checkpoint;  // HF, when the weight files are present
  std::optional<GgufFile> gguf;
  std::optional<ResolvedModel> tensors;  // when the weights are present: every tensor checked

  bool weights_present() const { return tensors.has_value(); }
  std::uint64_t file_bytes() const;  // weight files on disk (0 for a config-only copy)
};

// Throws LoadError naming the file at fault.
ModelFiles open_model_files(const std::filesystem::path& path);

}  // namespace vkmoe
