// Reading tokenizer.json into TokenizerParts. Every refusal names the file and the JSON path
// of the field ("tokenizer.json: model.merges[12]: ..."), so a broken or unsupported file
// says what to look at.
#include <fstream>
#include <sstream>

#include "loaders/json_guard.h"
#include "loaders/load_error.h"
#include "loaders/tokenizer.h"
#include "loaders/tokenizer_parts.h"
#include "loaders/unicode.h"
#include "loaders/unicode_normalize.h"

namespace vkmoe {
namespace {

using nlohmann::json;

// GPT-2's pattern, which a ByteLevel pre-tokenizer applies when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

constexpr std::size_t kMaxPreTokenizerClasses = 1024;

class Reader {
 public:
  explicit Reader(std::string name) : name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw LoadError(name_ + ": " + path + ": " + what);
  }

  const json& member(const json& object, const std::string& path, const char* key) const {
    if (!object.is_object()) fail(path, "expected a JSON object");
    auto it = object.find(key);
    if (it == object.end()) fail(path, std::string("missing field '") + key + "'");
    return *it;
  }

  // Optional member: nullptr when absent or null.
  const json* optional(const json& object, const char* key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  std::string string(const json& value, const std::string& path) const {
    if (!value.is_string()) fail(path, "expected a string");
    return value.get<std::string>();
  }

  bool boolean(const json& object, const std::string& path, const char* key, bool fallback) const {
    const json* value = optional(object, key);
    if (value == nullptr) return fallback;
    if (!value->is_boolean()) fail(path + "." + key, "expected true or false");
    return value->get<bool>();
  }

  TokenId id(const json& value, const std::string& path) const {
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 0xFFFFFFFEull) {
      fail(path, "expected a token id (an integer from 0 to 4294967294)");
    }
    return static_cast<TokenId>(value.get<std::uint64_t>());
  }

  std::string type(const json& object, const std::string& path) const {
    return string(member(object, path, "type"), path + ".type");
  }

  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

BpeConfig read_model(const Reader& r, const json& model) {
  const std::string path = "model";
  if (!model.is_object()) r.fail(path, "expected a JSON object");
  if (const json* type = r.optional(model, "type");
      type && r.string(*type, "model.type") != "BPE") {
    r.fail("model.type", "unsupported model '" + type->get<std::string>() + "' (only BPE)");
  }
  BpeConfig config;
  const json& vocab = r.member(model, path, "vocab");
  if (!vocab.is_object()) r.fail("model.vocab", "expected an object of token -> id");
  config.vocab.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    config.vocab.emplace_back(it.key(), r.id(it.value(), "model.vocab['" + it.key() + "']"));
  }
  const json& merges = r.member(model, path, "merges");
  if (!merges.is_array()) r.fail("model.merges", "expected an array");
  config.merges.reserve(merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    const json& merge = merges[i];
    if (merge.is_string()) {
      // The older format: "left right", exactly one space (byte-level tokens have none).
      const std::string& text = merge.get_ref<const std::string&>();
      const std::size_t space = text.find(' ');
      if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
        r.fail(where, "expected \"left right\" with exactly one space, got \"" + text + "\"");
      }
      config.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      config.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      r.fail(where, "expected \"left right\" or [\"left\", \"right\"]");
    }
  }
  if (const json* unk = r.optional(model, "unk_token"))
    config.unk_token = r.string(*unk, "model.unk_token");
  config.fuse_unk = r.boolean(model, path, "fuse_unk", false);
  config.ignore_merges = r.boolean(model, path, "ignore_merges", false);
  if (r.boolean(model, path, "byte_fallback", false))
    r.fail("model.byte_fallback", "byte fallback is not supported");
  if (const json* dropout = r.optional(model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0) {
      r.fail("model.dropout", "BPE dropout is not supported (must be null or 0)");
    }
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* affix = r.optional(model, key);
        affix && !r.string(*affix, std::string("model.") + key).empty()) {
      r.fail(std::string("model.") + key, "subword prefixes and suffixes are not supported");
    }
  }
  return config;
}

std::vector<AddedToken> read_added_tokens(const Reader& r, const json& root) {
  std::vector<AddedToken> out;
  const json* list = r.optional(root, "added_tokens");
  if (list == nullptr) return out;
  if (!list->is_array()) r.fail("added_tokens", "expected an array");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = "added_tokens[" + std::to_string(i) + "]";
    const json& t = (*list)[i];
    AddedToken token;
    token.id = r.id(r.member(t, path, "id"), path + ".id");
    token.content = r.string(r.member(t, path, "content"), path + ".content");
    if (token.content.empty()) r.fail(path + ".content", "empty added token");
    if (!unicode::is_valid_utf8(token.content)) r.fail(path + ".content", "not valid UTF-8");
    token.special = r.boolean(t, path, "special", false);
    token.normalized = r.boolean(t, path, "normalized", !token.special);
    token.lstrip = r.boolean(t, path, "lstrip", false);
    token.rstrip = r.boolean(t, path, "rstrip", false);
    if (r.boolean(t, path, "single_word", false))
      r.fail(path + ".single_word", "single_word tokens are not supported");
    out.push_back(std::move(token));
  }
  return out;
}

// Returns true for NFC; false for no normalizer (null or an empty Sequence).
bool read_normalizer(const Reader& r, const json& value, const std::string& path) {
  const std::string type = r.type(value, path);
  if (type == "NFC") return true;
  if (type == "Sequence") {
    const json& list = r.member(value, path, "normalizers");
    if (!list.is_array()) r.fail(path + ".normalizers", "expected an array");
    bool nfc = false;
    for (std::size_t i = 0; i < list.size(); ++i) {
      nfc |= read_normalizer(r, list[i], path + ".normalizers[" + std::to_string(i) + "]");
    }
    return nfc;
  }
  r.fail(path + ".type", "unsupported normalizer '" + type + "' (only NFC and Sequence)");
}

SplitBehavior read_behavior(const Reader& r, const json& step, const std::string& path) {
  const std::string name = r.string(r.member(step, path, "behavior"), path + ".behavior");
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  r.fail(path + ".behavior", "unknown behavior '" + name + "'");
}

void read_pre_tokenizer(const Reader& r, const json& value, const std::string& path, int depth,
                        TokenizerParts& parts) {
  if (depth > 8) r.fail(path, "pre-tokenizer sequences nested too deeply");
  const std::string type = r.type(value, path);
  if (type == "Sequence") {
    const json& list = r.member(value, path, "pretokenizers");
    if (!list.is_array()) r.fail(path + ".pretokenizers", "expected an array");
    for (std::size_t i = 0; i < list.size(); ++i) {
      read_pre_tokenizer(r, list[i], path + ".pretokenizers[" + std::to_string(i) + "]", depth + 1,
                         parts);
    }
    return;
  }
  PreTokenizerStep step;
  if (type == "Split") {
    const json& pattern = r.member(value, path, "pattern");
    if (const json* regex = pattern.is_object() ? r.optional(pattern, "Regex") : nullptr) {
      const std::string where = path + ".pattern.Regex";
      step.regex = TokenizerRegex::compile(r.string(*regex, where), r.name() + ": " + where);
    } else if (const json* literal =
                   pattern.is_object() ? r.optional(pattern, "String") : nullptr) {
      const std::string text = r.string(*literal, path + ".pattern.String");
      if (!unicode::is_valid_utf8(text)) r.fail(path + ".pattern.String", "not valid UTF-8");
      step.literal = unicode::to_code_points(text);
    } else {
      r.fail(path + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    step.behavior = read_behavior(r, value, path);
    step.invert = r.boolean(value, path, "invert", false);
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::kByteLevel;
    step.add_prefix_space = r.boolean(value, path, "add_prefix_space", true);
    if (r.boolean(value, path, "use_regex", true)) {
      step.regex =
          TokenizerRegex::compile(kGpt2Pattern, r.name() + ": " + path + " (GPT-2 pattern)");
    }
    parts.byte_level = true;
  } else {
    r.fail(path + ".type",
           "unsupported pre-tokenizer '" + type + "' (only Split, ByteLevel and Sequence)");
  }
  parts.pre_tokenizers.push_back(std::move(step));
  // Real pre-tokenizers hold a few dozen character classes in all; each costs 8 KiB, so the
  // total is checked as patterns are compiled, before a file can make thousands.
  std::size_t classes = 0;
  for (const PreTokenizerStep& done : parts.pre_tokenizers) {
    if (done.regex) classes += done.regex->character_class_count();
  }
  if (classes > kMaxPreTokenizerClasses) {
    r.fail(path, "the patterns so far hold " + std::to_string(classes) +
                     " character classes (at most " + std::to_string(kMaxPreTokenizerClasses) +
                     ")");
  }
}

void read_post_processor(const Reader& r, const json& value, TokenizerParts& parts) {
  const std::string path = "post_processor";
  const std::string type = r.type(value, path);
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type != "TemplateProcessing") {
    r.fail(path + ".type",
           "unsupported post-processor '" + type + "' (only ByteLevel and TemplateProcessing)");
  }
  const json& single = r.member(value, path, "single");
  if (!single.is_array()) r.fail(path + ".single", "expected an array");
  const json* specials = r.optional(value, "special_tokens");
  bool seen_sequence = false;
  for (std::size_t i = 0; i < single.size(); ++i) {
    const std::string where = path + ".single[" + std::to_string(i) + "]";
    const json& piece = single[i];
    if (piece.is_object() && piece.contains("Sequence")) {
      const std::string id =
          r.string(r.member(piece["Sequence"], where + ".Sequence", "id"), where + ".Sequence.id");
      if (id != "A" || seen_sequence) r.fail(where, "a single-sequence template holds $A once");
      seen_sequence = true;
      continue;
    }
    if (!piece.is_object() || !piece.contains("SpecialToken"))
      r.fail(where, "expected SpecialToken or Sequence");
    const std::string name = r.string(
        r.member(piece["SpecialToken"], where + ".SpecialToken", "id"), where + ".SpecialToken.id");
    if (specials == nullptr || !specials->is_object() || !specials->contains(name)) {
      r.fail(path + ".special_tokens", "no entry for '" + name + "'");
    }
    const std::string entry = path + ".special_tokens['" + name + "']";
    const json& ids = r.member((*specials)[name], entry, "ids");
    if (!ids.is_array()) r.fail(entry + ".ids", "expected an array");
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const TokenId id = r.id(ids[k], entry + ".ids[" + std::to_string(k) + "]");
      (seen_sequence ? parts.template_suffix : parts.template_prefix).push_back(id);
    }
  }
  if (!seen_sequence) r.fail(path + ".single", "the template has no $A sequence");
}

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view json_text, std::string_view name) {
  Reader r{std::string(name)};
  const json root = parse_untrusted_json(json_text, name);
  if (!root.is_object())
    throw LoadError(std::string(name) + ": the top level is not a JSON object");
  auto parts = std::make_unique<TokenizerParts>();
  parts->name = name;
  for (const char* key : {"truncation", "padding"}) {
    if (r.optional(root, key) != nullptr)
      r.fail(key, "truncation and padding are not supported (must be null)");
  }
  if (const json* normalizer = r.optional(root, "normalizer"))
    parts->nfc = read_normalizer(r, *normalizer, "normalizer");
  if (const json* pre = r.optional(root, "pre_tokenizer"))
    read_pre_tokenizer(r, *pre, "pre_tokenizer", 0, *parts);
  BpeConfig config = read_model(r, r.member(root, "(top level)", "model"));
  config.byte_level = parts->byte_level;
  parts->model = BpeModel(std::move(config), std::string(name) + ": model");

  parts->added_tokens = read_added_tokens(r, root);
  std::vector<AddedToken> raw, normalized;
  for (std::size_t i = 0; i < parts->added_tokens.size(); ++i) {
    AddedToken& token = parts->added_tokens[i];
    // As in the Rust crate: content that is already a vocabulary entry keeps that entry's id,
    // whatever id the file gives it (DeepSeek's "õ"-like tokens; the JavaScript port differs).
    if (const std::optional<TokenId> existing = parts->model.token_to_id(token.content))
      token.id = *existing;
    if (token.id / 4 > parts->model.size() + parts->added_tokens.size() + 65536) {
      r.fail("added_tokens[" + std::to_string(i) + "].id",
             "id " + std::to_string(token.id) + " is far beyond the vocabulary size");
    }
    parts->added_by_id.emplace(token.id, i);
    if (token.normalized) {
      // Normalized tokens are looked for in normalized text, so their content is normalized too.
      AddedToken copy = token;
      if (parts->nfc) copy.content = unicode::nfc(copy.content);
      normalized.push_back(std::move(copy));
    } else {
      raw.push_back(token);
    }
  }
  parts->raw_matcher = AddedTokenMatcher(std::move(raw));
  parts->normalized_matcher = AddedTokenMatcher(std::move(normalized));

  if (const json* post = r.optional(root, "post_processor")) read_post_processor(r, *post, *parts);
  if (const json* decoder = r.optional(root, "decoder")) {
    const std::string type = r.type(*decoder, "decoder");
    if (type != "ByteLevel")
      r.fail("decoder.type", "unsupported decoder '" + type + "' (only ByteLevel)");
    parts->decoder = DecoderKind::kByteLevel;
  }
  return Tokenizer(std::move(parts));
}

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw LoadError(path.string() + ": cannot open tokenizer file");
  std::ostringstream text;
  text << file.rdbuf();
  if (!file.good() && !file.eof()) throw LoadError(path.string() + ": read error");
  return from_json(text.str(), path.string());
}

}  // namespace vkmoe
