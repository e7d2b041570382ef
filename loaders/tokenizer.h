// A Hugging Face tokenizer.json with a byte-level BPE model, as Qwen2 and DeepSeek ship it:
// added tokens split out first, NFC normalisation, Split / ByteLevel pre-tokenizers, BPE merges
// (both "a b" and ["a", "b"] merge formats), TemplateProcessing for special tokens, and the
// ByteLevel decoder. Ids match the Rust `tokenizers` crate and @huggingface/tokenizers (see
// tests/loaders/tokenizer_npm_test.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vkmoe {

using TokenId = std::uint32_t;
struct TokenizerParts;

enum class SpecialTokens {
  kLeaveOut,  // only the text's own tokens
  kAdd,       // plus what the post_processor template adds (e.g. DeepSeek's BOS)
};

class Tokenizer {
 public:
  // Reads tokenizer.json. Throws LoadError naming the file and the JSON field (or byte
  // offset) for anything malformed or unsupported.
  static Tokenizer load(const std::filesystem::path& path);
  // The same from the file's text; `name` stands in for the path in error messages.
  static Tokenizer from_json(std::string_view json_text, std::string_view name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text (UTF-8; malformed bytes are read as U+FFFD) to token ids. Thread-safe.
  std::vector<TokenId> encode(std::string_view text,
                              SpecialTokens special = SpecialTokens::kLeaveOut) const;

  // Ids back to text. Ids that name no token are skipped (models pad their embedding past the
  // vocabulary); bytes that do not form UTF-8 become U+FFFD, as in the Rust crate.
  std::string decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  // The raw bytes one token stands for (an added token: its content), for streaming output
  // where a character may span tokens. Empty for an unknown id.
  std::string token_bytes(TokenId id) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;  // vocabulary spelling
  std::optional<std::string> id_to_token(TokenId id) const;
  bool is_special(TokenId id) const;
  // One past the largest id, added tokens included.
  std::size_t vocab_size() const;

 private:
  explicit Tokenizer(std::unique_ptr<TokenizerParts> parts);
  std::unique_ptr<TokenizerParts> parts_;
};

}  // namespace vkmoe
