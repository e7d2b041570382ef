#include "loaders/model_files.h"

#include "loaders/gguf_model.h"
#include "loaders/hf_config.h"
#include "loaders/load_error.h"

namespace vkmoe {

std::uint64_t ModelFiles::file_bytes() const {
  if (gguf) return gguf->file_size();
  if (checkpoint) return checkpoint->file_bytes();
  return 0;
}

ModelFiles open_model_files(const std::filesystem::path& path) {
  ModelFiles m;
  m.path = path;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    if (path.extension() != ".gguf") {
      throw LoadError(path.string() +
                      ": not a model folder (config.json + safetensors) or a .gguf file");
    }
    m.format = ModelFormat::kGguf;
    m.gguf = GgufFile::open(path);
    m.tensors = resolve_gguf_model(*m.gguf);
    m.config = m.tensors->config;
    return m;
  }

  m.format = ModelFormat::kHuggingFace;
  m.config = load_hf_config(path);
  bool have_weights = false;
  if (std::filesystem::exists(path / kShardIndexName, ec)) {
    m.index = read_shard_index(path / kShardIndexName);
    have_weights = true;
    for (const std::string& shard : m.index->shard_files()) {
      if (!std::filesystem::exists(path / shard, ec)) have_weights = false;
    }
  } else {
    have_weights = std::filesystem::exists(path / kSingleFileName, ec);
  }
  if (have_weights) {
    m.checkpoint = Checkpoint::open(path);
    const Checkpoint& c = *m.checkpoint;
    m.tensors = resolve_tensors(
        m.config, [&c](std::string_view n) { return c.find(n); }, path.string());
  }
  return m;
}

}  // namespace vkmoe
