// Opening a model and its tokenizer the way every model command does, so `vkmoe run` and
// `vkmoe score` say the same things about a config-only copy or a missing tokenizer.
#pragma once

#include <filesystem>
#include <string>

#include "loaders/model_files.h"
#include "loaders/tokenizer.h"

namespace vkmoe::cli {

// Throws LoadError when the path does not open or holds no weights (a config-only copy).
ModelFiles open_model_with_weights(const std::string& path);

// `tokenizer_json` when given, else the model folder's tokenizer.json. Throws LoadError saying
// that `command` needs a Hugging Face folder with tokenizer.json (or a tokenizer file) when
// there is none: the tokenizer embedded in a GGUF file is not read yet.
Tokenizer open_model_tokenizer(const ModelFiles& files, const std::filesystem::path& tokenizer_json,
                               const char* command);

}  // namespace vkmoe::cli
