// Added tokens (<|endoftext|>, <|im_start|>, ...) are cut out of the text before anything
// else sees it: leftmost match, longest at that position, like the aho-corasick
// LeftmostLongest automaton of the Rust crate. lstrip/rstrip swallow the white space beside a
// match.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "loaders/tokenizer_bpe.h"

namespace vkmoe {

struct AddedToken {
  std::string content;
  TokenId id = 0;
  bool special = false;
  bool normalized = false;  // matched in normalized text rather than in the raw input
  bool lstrip = false;
  bool rstrip = false;
};

// One part of the input: either an added token (id) or a stretch of ordinary text.
struct TextSection {
  std::size_t begin, end;  // bytes of the string that was split
  bool is_token;
  TokenId id;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns` are the strings to find (a token's content, normalized or not) and their ids.
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens);

  bool empty() const { return tokens_.empty(); }
  // Splits `text` into sections covering all of it (empty text sections are left out).
  std::vector<TextSection> split(std::string_view text) const;

 private:
  struct TrieNode {
    std::vector<std::pair<unsigned char, std::uint32_t>> children;  // byte -> node
    std::int64_t token = -1;  // index into tokens_ when a token ends here
  };
  std::int64_t longest_at(std::string_view text, std::size_t pos, std::size_t& length) const;

  std::vector<AddedToken> tokens_;
  std::vector<TrieNode> trie_{1};
  bool first_byte_[256] = {};
};

}  // namespace vkmoe
