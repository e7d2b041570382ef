// The tokenizer embedded in a GGUF file (tokenizer.ggml.*) as the tokenizer.json text the
// Hugging Face tokenizer it came from would have, so one BPE implementation serves both
// formats. GGUF keeps the vocabulary, merges, token types and special ids, but only names its
// pre-tokenizer (tokenizer.ggml.pre, llama.cpp's names); the rules behind each name supported
// here are written out in the .cpp: "qwen2" (Qwen1.5 / Qwen2, NFC normalisation) and
// "deepseek-llm" (DeepSeek-LLM / DeepSeek-MoE, BOS added).
#pragma once

#include <string>
#include <string_view>

#include "loaders/gguf_model.h"

namespace vkmoe {

// Throws LoadError naming `file` for a tokenizer model other than "gpt2" (byte-level BPE), a
// pre-tokenizer name without known rules (the message suggests passing tokenizer.json), or
// missing merges.
std::string tokenizer_json_from_gguf(const GgufTokenizer& gguf, std::string_view file);

}  // namespace vkmoe
