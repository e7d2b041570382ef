#include "tools/model_loading.h"

#include "loaders/gguf_tokenizer_json.h"
#include "loaders/load_error.h"

namespace vkmoe::cli {

ModelFiles open_model_with_weights(const std::string& path) {
  ModelFiles files = open_model_files(path);
  if (!files.weights_present()) {
    throw LoadError(path + ": the weights are not present (a config-only copy)");
  }
  return files;
}

std::optional<Tokenizer> model_tokenizer(const ModelFiles& files,
                                         const std::filesystem::path& tokenizer_json) {
  if (!tokenizer_json.empty()) return Tokenizer::load(tokenizer_json);
  if (files.format == ModelFormat::kGguf && files.gguf) {
    const std::string name = files.path.string();
    return Tokenizer::from_json(tokenizer_json_from_gguf(gguf_tokenizer(*files.gguf), name), name);
  }
  const std::filesystem::path in_folder = files.path / "tokenizer.json";
  if (!std::filesystem::exists(in_folder)) return std::nullopt;
  return Tokenizer::load(in_folder);
}

Tokenizer open_model_tokenizer(const ModelFiles& files, const std::filesystem::path& tokenizer_json,
                               const char* command) {
  std::optional<Tokenizer> tokenizer = model_tokenizer(files, tokenizer_json);
  if (!tokenizer) {
    throw LoadError(files.path.string() + ": " + command +
                    " needs a tokenizer: the model folder has no tokenizer.json (pass one with "
                    "--tokenizer FILE)");
  }
  return std::move(*tokenizer);
}

}  // namespace vkmoe::cli
