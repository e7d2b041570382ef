#include "tools/model_loading.h"

#include "loaders/load_error.h"

namespace vkmoe::cli {

ModelFiles open_model_with_weights(const std::string& path) {
  ModelFiles files = open_model_files(path);
  if (!files.weights_present()) {
    throw LoadError(path + ": the weights are not present (a config-only copy)");
  }
  return files;
}

Tokenizer open_model_tokenizer(const ModelFiles& files, const std::filesystem::path& tokenizer_json,
                               const char* command) {
  if (!tokenizer_json.empty()) return Tokenizer::load(tokenizer_json);
  const std::filesystem::path in_folder = files.path / "tokenizer.json";
  if (files.format != ModelFormat::kHuggingFace || !std::filesystem::exists(in_folder)) {
    throw LoadError(files.path.string() + ": " + command +
                    " needs a Hugging Face model folder with tokenizer.json (the tokenizer "
                    "embedded in a GGUF file is not read yet)");
  }
  return Tokenizer::load(in_folder);
}

}  // namespace vkmoe::cli
