#include "loaders/tokenizer_bpe.h"

#include <queue>

#include "loaders/load_error.h"
#include "loaders/tokenizer_byte_level.h"
#include "loaders/unicode.h"

namespace vkmoe {

BpeModel::BpeModel(BpeConfig config, const std::string& context)
    : fuse_unk_(config.fuse_unk),
      ignore_merges_(config.ignore_merges),
      byte_level_(config.byte_level) {
  // Ids index a table, so they must stay near the vocabulary's size: a file cannot make us
  // allocate for id 4,000,000,000 with three entries.
  const std::size_t id_limit = 4 * config.vocab.size() + 65536;
  for (const auto& [token, id] : config.vocab) {
    if (id >= id_limit) {
      throw LoadError(context + ".vocab: id " + std::to_string(id) + " of '" + token +
                      "' is far beyond the vocabulary size (" +
                      std::to_string(config.vocab.size()) + " entries)");
    }
    max_id_ = std::max(max_id_, id);
  }
  // Checked in file order, so the message names the two tokens as the file lists them.
  std::vector<std::int64_t> first_with_id(config.vocab.empty() ? 0 : max_id_ + 1, -1);
  for (std::size_t i = 0; i < config.vocab.size(); ++i) {
    const TokenId id = config.vocab[i].second;
    if (first_with_id[id] >= 0) {
      throw LoadError(context + ".vocab: id " + std::to_string(id) + " is used by both '" +
                      config.vocab[static_cast<std::size_t>(first_with_id[id])].first + "' and '" +
                      config.vocab[i].first + "'");
    }
    first_with_id[id] = static_cast<std::int64_t>(i);
  }
  vocab_.reserve(config.vocab.size());
  for (auto& [token, id] : config.vocab) {
    if (!vocab_.emplace(std::move(token), id).second)
      throw LoadError(context + ".vocab: duplicate token");
  }
  tokens_by_id_.assign(first_with_id.size(), nullptr);
  for (const auto& [token, id] : vocab_) tokens_by_id_[id] = &token;
  byte_ids_.fill(-1);
  if (byte_level_) {
    for (int b = 0; b < 256; ++b) {
      std::string spelled;
      unicode::append_utf8(spelled, byte_level::char_for_byte(static_cast<std::uint8_t>(b)));
      if (auto it = vocab_.find(spelled); it != vocab_.end()) byte_ids_[b] = it->second;
    }
  }
  if (config.unk_token) {
    auto it = vocab_.find(*config.unk_token);
    if (it == vocab_.end()) {
      throw LoadError(context + ".unk_token: '" + *config.unk_token + "' is not in the vocabulary");
    }
    unk_id_ = it->second;
  }
  merges_.reserve(config.merges.size());
  for (std::size_t rank = 0; rank < config.merges.size(); ++rank) {
    const auto& [left, right] = config.merges[rank];
    const auto where = [&] { return context + ".merges[" + std::to_string(rank) + "]: "; };
    auto a = vocab_.find(left);
    if (a == vocab_.end()) throw LoadError(where() + "'" + left + "' is not in the vocabulary");
    auto b = vocab_.find(right);
    if (b == vocab_.end()) throw LoadError(where() + "'" + right + "' is not in the vocabulary");
    auto merged = vocab_.find(left + right);
    if (merged == vocab_.end()) {
      throw LoadError(where() + "'" + left + right +
                      "' (the merge's result) is not in the vocabulary");
    }
    // A repeated pair keeps its first (best) rank, as a map built in rank order would.
    merges_.emplace(pair_key(a->second, b->second),
                    Merge{static_cast<std::uint32_t>(rank), merged->second});
  }
}

BpeModel::BpeModel(BpeModel&& other) noexcept {
  *this = std::move(other);
}

BpeModel& BpeModel::operator=(BpeModel&& other) noexcept {
  vocab_ = std::move(other.vocab_);
  tokens_by_id_ = std::move(other.tokens_by_id_);  // pointers into vocab_'s nodes stay valid
  merges_ = std::move(other.merges_);
  byte_ids_ = other.byte_ids_;
  unk_id_ = other.unk_id_;
  fuse_unk_ = other.fuse_unk_;
  ignore_merges_ = other.ignore_merges_;
  byte_level_ = other.byte_level_;
  max_id_ = other.max_id_;
  cache_.clear();
  return *this;
}

std::optional<TokenId> BpeModel::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::id_to_token(TokenId id) const {
  return id < tokens_by_id_.size() ? tokens_by_id_[id] : nullptr;
}

// One symbol per byte (byte-level) or per character; characters missing from the vocabulary
// become the unknown token (fused into one when fuse_unk) or, without one, are dropped.
void BpeModel::initial_symbols(std::string_view word, std::vector<TokenId>& symbols) const {
  bool pending_unk = false;
  const auto flush_unk = [&] {
    if (pending_unk) symbols.push_back(*unk_id_);
    pending_unk = false;
  };
  const auto missing = [&] {
    if (!unk_id_) return;
    if (pending_unk && !fuse_unk_) symbols.push_back(*unk_id_);
    pending_unk = true;
  };
  if (byte_level_) {
    for (char ch : word) {
      const std::int64_t id = byte_ids_[static_cast<std::uint8_t>(ch)];
      if (id < 0) {
        missing();
        continue;
      }
      flush_unk();
      symbols.push_back(static_cast<TokenId>(id));
    }
  } else {
    for (std::size_t pos = 0; pos < word.size();) {
      char32_t c = 0;
      const std::size_t n = unicode::decode_utf8(word, pos, c);
      auto it = vocab_.find(word.substr(pos, n));
      pos += n;
      if (it == vocab_.end()) {
        missing();
        continue;
      }
      flush_unk();
      symbols.push_back(it->second);
    }
  }
  flush_unk();
}

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  struct Symbol {
    TokenId id;
    std::int64_t prev, next;
    bool alive;
  };
  std::vector<TokenId> ids;
  initial_symbols(word, ids);
  const std::int64_t n = static_cast<std::int64_t>(ids.size());
  std::vector<Symbol> symbols(ids.size());
  for (std::int64_t i = 0; i < n; ++i) symbols[i] = {ids[i], i - 1, i + 1 < n ? i + 1 : -1, true};

  struct Candidate {
    std::uint32_t rank;
    std::int64_t pos;
    TokenId result;
    // std::priority_queue pops the largest: invert so the lowest rank, then leftmost, wins.
    bool operator<(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate> queue;
  const auto consider = [&](std::int64_t pos) {
    const std::int64_t next = symbols[pos].next;
    if (next < 0) return;
    auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.result});
  };
  for (std::int64_t i = 0; i + 1 < n; ++i) consider(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Entries go stale when a neighbour merged first; a pair still producing the same token
    // is the same pair (both spell the same span of the word).
    auto it = merges_.find(pair_key(left.id, right.id));
    if (it == merges_.end() || it->second.result != top.result) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(top.pos);
  }
  for (std::int64_t i = n > 0 ? 0 : -1; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(byte_level_ ? byte_level::spell(word) : std::string(word));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(word); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheEntries) cache_.clear();
    cache_.emplace(
        std::string(word),
        std::vector<TokenId>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
  }
}

}  // namespace vkmoe
