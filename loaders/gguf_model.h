// A GGUF file as a model: its metadata mapped to the same ModelConfig as the Hugging Face path,
// its tensors (llama.cpp names) mapped to the Hugging Face names of model_description.h, and the
// embedded tokenizer arrays.
//
// Architectures: "qwen2moe" (llama.cpp LLM_ARCH_QWEN2MOE, NeoX RoPE, tensors stored as
// converted) and "deepseek" (LLM_ARCH_DEEPSEEK, normal RoPE: convert_hf_to_gguf.py permutes the
// rows of q_proj and k_proj per head, so the engine must undo it: RowOrder::kRopeInterleaved).
// Routed experts are stacked ([E, I, H] in PyTorch order; ffn_*_exps in the file).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loaders/gguf.h"
#include "loaders/model_config.h"
#include "loaders/model_description.h"

namespace vkmoe {

// Throws LoadError naming the key for a missing or mistyped key, and the supported
// architectures for an unknown general.architecture.
ModelConfig gguf_model_config(const GgufFile& f);

// llama.cpp tensor name → Hugging Face name ("blk.3.ffn_down_exps.weight" →
// "model.layers.3.mlp.experts.down_proj.weight"); empty for names we do not use.
std::string gguf_to_hf_name(std::string_view gguf_name, Arch arch);

// Config + every tensor resolved and checked, q/k rows marked for deepseek.
ResolvedModel resolve_gguf_model(const GgufFile& f);

// tokenizer.ggml.*: the arrays as stored, for the tokenizer to build from.
struct GgufTokenizer {
  std::string model;  // tokenizer.ggml.model: "gpt2", "llama", ...
  std::string pre;    // tokenizer.ggml.pre: pre-tokenizer name ("qwen2", "deepseek-llm", ...)
  std::vector<std::string> tokens;
  std::vector<float> scores;              // empty when absent
  std::vector<std::int32_t> token_types;  // empty when absent
  std::vector<std::string> merges;        // empty when absent
  std::optional<std::int64_t> bos_id, eos_id, unknown_id, padding_id;
  std::optional<bool> add_bos;
};

// Throws LoadError when tokenizer.ggml.tokens is absent, an array has the wrong type or length,
// or a special-token id is outside the vocabulary.
GgufTokenizer gguf_tokenizer(const GgufFile& f);

}  // namespace vkmoe
