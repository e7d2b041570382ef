#include "loaders/tokenizer.h"

#include "loaders/tokenizer_byte_level.h"
#include "loaders/tokenizer_parts.h"
#include "loaders/unicode.h"
#include "loaders/unicode_normalize.h"

namespace vkmoe {

Tokenizer::Tokenizer(std::unique_ptr<TokenizerParts> parts) : parts_(std::move(parts)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

namespace {

// Pre-tokenizes one stretch of normalized text and runs the model on every word.
void encode_normalized(const TokenizerParts& parts, std::string_view text,
                       std::vector<TokenId>& out) {
  if (text.empty()) return;
  std::u32string buffer = unicode::to_code_points(text);
  const std::vector<Piece> pieces = pre_tokenize(parts.pre_tokenizers, buffer);
  std::string word;
  for (const Piece& piece : pieces) {
    word.clear();
    for (std::size_t i = piece.begin; i < piece.end; ++i) unicode::append_utf8(word, buffer[i]);
    parts.model.encode_word(word, out);
  }
}

void encode_section(const TokenizerParts& parts, std::string_view raw, std::vector<TokenId>& out) {
  const std::string normalized = parts.nfc ? unicode::nfc(raw) : std::string(raw);
  if (parts.normalized_matcher.empty()) {
    encode_normalized(parts, normalized, out);
    return;
  }
  for (const TextSection& s : parts.normalized_matcher.split(normalized)) {
    if (s.is_token) {
      out.push_back(s.id);
    } else {
      encode_normalized(parts, std::string_view(normalized).substr(s.begin, s.end - s.begin), out);
    }
  }
}

}  // namespace

std::vector<TokenId> Tokenizer::encode(std::string_view text, SpecialTokens special) const {
  const TokenizerParts& parts = *parts_;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 4);
  if (special == SpecialTokens::kAdd) out = parts.template_prefix;
  // The model's own words are valid UTF-8 after this; malformed input bytes become U+FFFD
  // here rather than byte tokens that a Rust or JavaScript string could never produce.
  std::string cleaned;
  if (!unicode::is_valid_utf8(text)) {
    cleaned = unicode::to_utf8(unicode::to_code_points(text));
    text = cleaned;
  }
  if (parts.raw_matcher.empty()) {
    encode_section(parts, text, out);
  } else {
    for (const TextSection& s : parts.raw_matcher.split(text)) {
      if (s.is_token) {
        out.push_back(s.id);
      } else {
        encode_section(parts, text.substr(s.begin, s.end - s.begin), out);
      }
    }
  }
  if (special == SpecialTokens::kAdd) {
    out.insert(out.end(), parts.template_suffix.begin(), parts.template_suffix.end());
  }
  return out;
}

std::optional<std::string> Tokenizer::id_to_token(TokenId id) const {
  if (auto it = parts_->added_by_id.find(id); it != parts_->added_by_id.end()) {
    return parts_->added_tokens[it->second].content;
  }
  if (const std::string* token = parts_->model.id_to_token(id)) return *token;
  return std::nullopt;
}

std::optional<TokenId> Tokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& added : parts_->added_tokens) {
    if (added.content == token) return added.id;
  }
  return parts_->model.token_to_id(token);
}

bool Tokenizer::is_special(TokenId id) const {
  auto it = parts_->added_by_id.find(id);
  return it != parts_->added_by_id.end() && parts_->added_tokens[it->second].special;
}

std::size_t Tokenizer::vocab_size() const {
  std::size_t size = parts_->model.size() == 0 ? 0 : std::size_t{parts_->model.max_id()} + 1;
  for (const AddedToken& added : parts_->added_tokens)
    size = std::max<std::size_t>(size, added.id + 1);
  return size;
}

std::string Tokenizer::token_bytes(TokenId id) const {
  const std::optional<std::string> token = id_to_token(id);
  if (!token) return {};
  if (parts_->decoder != DecoderKind::kByteLevel) return *token;
  std::string bytes;
  if (!byte_level::unspell(*token, bytes)) return *token;
  return bytes;
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::string bytes;
  bool first = true;
  for (TokenId id : ids) {
    if (skip_special_tokens && is_special(id)) continue;
    const std::optional<std::string> token = id_to_token(id);
    if (!token) continue;
    if (parts_->decoder == DecoderKind::kByteLevel) {
      // A token made only of mapped characters is bytes; any other keeps its own UTF-8.
      if (!byte_level::unspell(*token, bytes)) bytes += *token;
    } else {
      if (!first) bytes += ' ';  // no decoder: the Rust crate joins tokens with spaces
      bytes += *token;
    }
    first = false;
  }
  if (unicode::is_valid_utf8(bytes)) return bytes;
  return unicode::to_utf8(unicode::to_code_points(bytes));
}

}  // namespace vkmoe
