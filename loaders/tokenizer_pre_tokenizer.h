// The pre-tokenizers of tokenizer.json that byte-level BPE tokenizers use: Split (a regex or
// a literal, with the five delimiter behaviours) and ByteLevel (optional prefix space and the
// GPT-2 regex), in a flat sequence. They cut normalized text into words for the BPE model.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "loaders/tokenizer_regex.h"

namespace vkmoe {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel } kind = Kind::kSplit;
  // kSplit: a regex, or a literal string when `regex` is empty. kByteLevel with use_regex:
  // the GPT-2 pattern.
  std::optional<TokenizerRegex> regex;
  std::u32string literal;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool add_prefix_space = false;  // kByteLevel
};

// A word as a range of a buffer of code points.
struct Piece {
  std::size_t begin, end;
};

// Runs the steps in order over `text`: each step splits every piece the previous one made.
// `buffer` starts as the text; a ByteLevel prefix space appends a copy of the piece to it.
std::vector<Piece> pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::u32string& buffer);

}  // namespace vkmoe
