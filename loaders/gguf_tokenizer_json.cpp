#include "loaders/gguf_tokenizer_json.h"

#include <nlohmann/json.hpp>

#include "loaders/load_error.h"

namespace vkmoe {

namespace {

using nlohmann::json;

// llama.cpp's token types (llama_token_type).
constexpr std::int32_t kControl = 3, kUserDefined = 4;

// The Split patterns of the Hugging Face tokenizer.json files behind each GGUF name.
constexpr const char* kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// DeepSeek-LLM: newlines, letters of cased scripts, ASCII/fullwidth punctuation, trailing
// space, CJK and Hangul, digits — in this order.
constexpr const char* kDeepseekPatterns[] = {
    "[\r\n]",
    "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-"
    "\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1"
    "\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-"
    "\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-"
    "\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4"
    "\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-"
    "\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-"
    "\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-"
    "\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-"
    "\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-"
    "\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-"
    "\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+",
    "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+",
    "\\s+$",
    "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+",
    "\\p{N}+",
};

json split(const char* pattern) {
  return {{"type", "Split"},
          {"pattern", {{"Regex", pattern}}},
          {"behavior", "Isolated"},
          {"invert", false}};
}

json byte_level() {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", false},
          {"use_regex", false}};
}

}  // namespace

std::string tokenizer_json_from_gguf(const GgufTokenizer& g, std::string_view file) {
  const std::string where = std::string(file) + ": tokenizer.ggml.";
  if (g.model != "gpt2") {
    throw LoadError(where + "model is '" + g.model +
                    "'; only byte-level BPE ('gpt2') is read from GGUF files — pass the "
                    "model's tokenizer.json instead");
  }
  if (g.merges.empty()) throw LoadError(where + "merges: absent or empty; BPE needs them");

  json pretokenizers = json::array();
  json normalizer;
  if (g.pre == "qwen2") {
    pretokenizers.push_back(split(kQwen2Pattern));
    normalizer = {{"type", "NFC"}};
  } else if (g.pre == "deepseek-llm") {
    for (const char* pattern : kDeepseekPatterns) pretokenizers.push_back(split(pattern));
    normalizer = {{"type", "Sequence"}, {"normalizers", json::array()}};
  } else {
    throw LoadError(where + "pre is '" + g.pre +
                    "': the rules of this pre-tokenizer are not known to vkmoe (supported: "
                    "qwen2, deepseek-llm) — pass the model's tokenizer.json instead");
  }
  pretokenizers.push_back(byte_level());

  // Control tokens become special added tokens, user-defined ones plain added tokens; the
  // rest is the BPE vocabulary (llama.cpp writes every id, padding rows included).
  json vocab = json::object(), added = json::array();
  for (std::size_t id = 0; id < g.tokens.size(); ++id) {
    const std::int32_t type = id < g.token_types.size() ? g.token_types[id] : 1;
    if (type == kControl || type == kUserDefined) {
      added.push_back({{"id", id},
                       {"content", g.tokens[id]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", type == kUserDefined},
                       {"special", type == kControl}});
    } else {
      vocab[g.tokens[id]] = id;
    }
  }
  json post = byte_level();
  if (g.add_bos.value_or(false)) {
    if (!g.bos_id) throw LoadError(where + "add_bos_token is true but bos_token_id is absent");
    const std::string& bos = g.tokens.at(static_cast<std::size_t>(*g.bos_id));
    post = {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"pair",
             {{{"SpecialToken", {{"id", bos}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
              {{"SpecialToken", {{"id", bos}, {"type_id", 1}}}},
              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
            {"special_tokens", {{bos, {{"id", bos}, {"ids", {*g.bos_id}}, {"tokens", {bos}}}}}}};
  }
  const json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", normalizer},
      {"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", pretokenizers}}},
      {"post_processor", post},
      {"decoder", byte_level()},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", g.merges}}}};
  return tokenizer.dump();
}

}  // namespace vkmoe
