// The BPE model of tokenizer.json: a vocabulary and rank-ordered merges, applied to one
// pre-tokenized word at a time exactly as the Rust `tokenizers` crate does (lowest rank first,
// leftmost on ties), with merges in a hash map keyed by the id pair and a cache of words.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vkmoe {

using TokenId = std::uint32_t;

struct BpeConfig {
  std::vector<std::pair<std::string, TokenId>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // rank order
  std::optional<std::string> unk_token;
  bool fuse_unk = false;
  bool ignore_merges = false;
  // Words arrive as raw bytes and are spelled with the byte-level alphabet
  // (tokenizer_byte_level.h) before lookup, as after a ByteLevel pre-tokenizer.
  bool byte_level = true;
};

// Lets string-keyed maps be searched with a string_view, without building a std::string.
struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename Value>
using StringMap = std::unordered_map<std::string, Value, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  BpeModel() = default;
  // Throws LoadError "<context>: ..." for a merge whose parts or result are not in the
  // vocabulary, an unknown unk_token, or a duplicate id.
  BpeModel(BpeConfig config, const std::string& context);
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one word (raw bytes when byte_level, else UTF-8 text).
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  std::optional<TokenId> token_to_id(std::string_view token) const;
  const std::string* id_to_token(TokenId id) const;  // nullptr when no token has the id
  TokenId max_id() const { return max_id_; }
  std::size_t size() const { return vocab_.size(); }

 private:
  struct Merge {
    std::uint32_t rank;
    TokenId result;
  };
  static std::uint64_t pair_key(TokenId a, TokenId b) { return (std::uint64_t{a} << 32) | b; }
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;
  void initial_symbols(std::string_view word, std::vector<TokenId>& symbols) const;

  StringMap<TokenId> vocab_;
  std::vector<const std::string*> tokens_by_id_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::array<std::int64_t, 256> byte_ids_{};  // byte-level: id of each single-byte token, or -1
  std::optional<TokenId> unk_id_;
  bool fuse_unk_ = false;
  bool ignore_merges_ = false;
  bool byte_level_ = true;
  TokenId max_id_ = 0;

  // Words repeat (" the", " of"): their ids are kept, up to a bound, for the next time.
  static constexpr std::size_t kCacheEntries = 1 << 16;
  static constexpr std::size_t kCacheMaxWordBytes = 64;
  mutable std::mutex cache_mutex_;
  mutable StringMap<std::vector<TokenId>> cache_;
};

}  // namespace vkmoe
