// What a loaded tokenizer.json consists of; filled by tokenizer_json.cpp, run by
// tokenizer.cpp. Not part of the public interface.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "loaders/tokenizer.h"
#include "loaders/tokenizer_added_tokens.h"
#include "loaders/tokenizer_bpe.h"
#include "loaders/tokenizer_pre_tokenizer.h"

namespace vkmoe {

enum class DecoderKind { kNone, kByteLevel };

struct TokenizerParts {
  std::string name;  // the file, for messages
  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_matcher;         // tokens with normalized = false, on the raw input
  AddedTokenMatcher normalized_matcher;  // tokens with normalized = true, on normalized text
  bool nfc = false;                      // the normalizer (none, or NFC)
  std::vector<PreTokenizerStep> pre_tokenizers;
  bool byte_level = false;  // a ByteLevel pre-tokenizer: BPE words are raw bytes
  BpeModel model;
  std::vector<TokenId> template_prefix;  // TemplateProcessing "single": ids before / after $A
  std::vector<TokenId> template_suffix;
  DecoderKind decoder = DecoderKind::kNone;
  std::unordered_map<TokenId, std::size_t> added_by_id;  // index into added_tokens
};

}  // namespace vkmoe
