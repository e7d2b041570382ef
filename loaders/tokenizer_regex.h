// The regular expressions that tokenizer.json pre-tokenizers carry (Split patterns, the GPT-2
// pattern of ByteLevel), with Oniguruma's semantics: leftmost match, alternatives tried in
// order, greedy or lazy quantifiers with backtracking, lookahead, \p{..} general categories,
// \s as White_Space, ^/$ at line boundaries. std::regex has no \p{..} and no Unicode \s, so
// this is a small backtracking matcher of our own over code points.
//
// Supported: literals and escapes (\t \n \r \f \v \a \e \xHH \x{H..} \uHHHH, escaped
// punctuation), `.`, classes with ranges, negation, nested classes, \p{..} \P{..} \p{^..} \s \S
// \d \D; groups (?:..) (..) (?<name>..); (?i:..) and a leading (?i) for ASCII letters; lookahead
// (?=..) (?!..); quantifiers * + ? {n} {n,} {,m} {n,m} and their lazy forms; anchors ^ $ \A \z
// \Z. Everything else (lookbehind, atomic groups, possessive quantifiers, backreferences, \w,
// \b, POSIX brackets, class intersection, non-ASCII case folding) is refused when the pattern
// is compiled, with the offset, rather than matched differently from the Rust tokenizers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vkmoe {

namespace regex_detail {
struct Program;
}

class TokenizerRegex {
 public:
  // Throws LoadError "<context>: regex offset N: <what>" (N counts code points of the pattern).
  static TokenizerRegex compile(std::string_view pattern, std::string context);

  // Leftmost match starting at or after `from` in `text` (code point positions). The text is
  // the whole subject: anchors and lookahead see nothing outside it. Returns false when there
  // is no match. Throws LoadError when one search exceeds the backtracking budget (a pattern
  // like (a|a)*b; the patterns real tokenizers ship never come close).
  bool search(std::u32string_view text, std::size_t from, std::size_t& match_begin,
              std::size_t& match_end) const;

  struct Match {
    std::size_t begin, end;
  };
  // Every match, left to right, as the Rust crate's find_iter yields them: the next search
  // starts where the last match ended, and an empty match right at that end is skipped by
  // moving one character on. One call reuses one backtracking stack for the whole text.
  std::vector<Match> find_all(std::u32string_view text) const;

  // Each class holds an 8 KiB table; loaders cap the total so a file cannot make many.
  std::size_t character_class_count() const;

  TokenizerRegex(TokenizerRegex&&) noexcept;
  TokenizerRegex& operator=(TokenizerRegex&&) noexcept;
  ~TokenizerRegex();

 private:
  explicit TokenizerRegex(std::unique_ptr<regex_detail::Program> program);
  std::unique_ptr<regex_detail::Program> program_;
};

}  // namespace vkmoe
