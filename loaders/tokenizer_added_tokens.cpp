#include "loaders/tokenizer_added_tokens.h"

#include "loaders/unicode.h"

namespace vkmoe {

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  for (std::size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& content = tokens_[t].content;
    if (content.empty()) continue;
    first_byte_[static_cast<unsigned char>(content[0])] = true;
    std::uint32_t node = 0;
    for (char ch : content) {
      const auto byte = static_cast<unsigned char>(ch);
      std::uint32_t child = 0;
      for (const auto& [b, index] : trie_[node].children) {
        if (b == byte) child = index;
      }
      if (child == 0) {
        child = static_cast<std::uint32_t>(trie_.size());
        trie_[node].children.emplace_back(byte, child);
        trie_.emplace_back();
      }
      node = child;
    }
    // The first token with a given content wins, as in a map from content to token.
    if (trie_[node].token < 0) trie_[node].token = static_cast<std::int64_t>(t);
  }
}

std::int64_t AddedTokenMatcher::longest_at(std::string_view text, std::size_t pos,
                                           std::size_t& length) const {
  std::int64_t found = -1;
  std::uint32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::uint32_t child = 0;
    for (const auto& [b, index] : trie_[node].children) {
      if (b == byte) child = index;
    }
    if (child == 0) break;
    node = child;
    if (trie_[node].token >= 0) {
      found = trie_[node].token;
      length = i + 1 - pos;
    }
  }
  return found;
}

namespace {

// Length in bytes of the white space that ends `text` / starts `text`.
std::size_t trailing_space(std::string_view text) {
  std::size_t end = text.size();
  while (end > 0) {
    std::size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    char32_t c = 0;
    unicode::decode_utf8(text, start, c);
    if (!unicode::is_white_space(c)) break;
    end = start;
  }
  return text.size() - end;
}

std::size_t leading_space(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = 0;
    const std::size_t n = unicode::decode_utf8(text, pos, c);
    if (!unicode::is_white_space(c)) break;
    pos += n;
  }
  return pos;
}

}  // namespace

std::vector<TextSection> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<TextSection> out;
  std::size_t start = 0;  // end of what the sections so far cover
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    std::size_t length = 0;
    const std::int64_t t = longest_at(text, pos, length);
    if (t < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(t)];
    std::size_t match_begin = pos;
    std::size_t match_end = pos + length;
    if (token.lstrip) {
      match_begin = std::max(start, pos - trailing_space(text.substr(0, pos)));
    }
    if (token.rstrip) match_end += leading_space(text.substr(match_end));
    if (start < match_begin) out.push_back({start, match_begin, false, 0});
    out.push_back({match_begin, match_end, true, token.id});
    start = match_end;
    pos += length;  // the automaton resumes after the token itself, not after the stripping
    if (pos < start) pos = start;
  }
  if (start < text.size()) out.push_back({start, text.size(), false, 0});
  return out;
}

}  // namespace vkmoe
