// Opening a model and its tokenizer the way every model command does, so `vkmoe run` and
// `vkmoe score` say the same things about a config-only copy or a missing tokenizer.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "loaders/model_files.h"
#include "loaders/tokenizer.h"

namespace vkmoe::cli {

// Throws LoadError when the path does not open or holds no weights (a config-only copy).
ModelFiles open_model_with_weights(const std::string& path);

// `tokenizer_json` when given, else the model folder's tokenizer.json, else the tokenizer
// embedded in a GGUF file (loaders/gguf_tokenizer_json.h); nullopt for a Hugging Face folder
// without tokenizer.json. Throws LoadError for a file that does not parse, or a GGUF
// tokenizer whose pre-tokenizer vkmoe does not know.
std::optional<Tokenizer> model_tokenizer(const ModelFiles& files,
                                         const std::filesystem::path& tokenizer_json);

// The same, throwing LoadError saying that `command` needs a tokenizer when there is none.
Tokenizer open_model_tokenizer(const ModelFiles& files, const std::filesystem::path& tokenizer_json,
                               const char* command);

}  // namespace vkmoe::cli
