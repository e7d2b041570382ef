// Hugging Face config.json → ModelConfig, for model_type "qwen2_moe" and "deepseek", with the
// defaults of transformers' Qwen2MoeConfig and DeepSeek's DeepseekConfig for absent fields, and
// both spellings seen in the wild (rope_theta / rope_parameters, torch_dtype / dtype).
#pragma once

#include <filesystem>
#include <string_view>

#include "loaders/model_config.h"

namespace vkmoe {

// Throws LoadError "<file_name>: field 'x' ..." for a wrong or missing field, and names the
// supported model types for an unknown model_type.
ModelConfig parse_hf_config(std::string_view json_text, std::string_view file_name);

// Reads `path` (a config.json file, or a folder holding one).
ModelConfig load_hf_config(const std::filesystem::path& path);

}  // namespace vkmoe
