// The tokenizer pipeline on the two trained assets and on small hand-made tokenizer.json files:
// round trips, special tokens, both merge formats, and one test per refusal message.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loaders/load_error.h"
#include "loaders/tokenizer.h"
#include "loaders/tokenizer_benchmark.h"
#include "loaders/unicode_normalize.h"

namespace vkmoe {
namespace {

using nlohmann::json;
const std::filesystem::path kSource = VKMOE_SOURCE_DIR;

json read_json(const std::filesystem::path& path) {
  std::ifstream file(path);
  return json::parse(file);
}

// A tiny byte-level BPE tokenizer: bytes a, b, c, space; merges "a b" and "ab c".
json tiny_tokenizer() {
  const std::string space = "\xC4\xA0";  // U+0120, the byte-level spelling of ' '
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens",
       json::array(
           {json{{"id", 6}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}}})},
      {"normalizer", json{{"type", "NFC"}}},
      {"pre_tokenizer",
       json{{"type", "Sequence"},
            {"pretokenizers", json::array({json{{"type", "Split"},
                                                {"pattern", json{{"Regex", R"( ?\p{L}+|\s+)"}}},
                                                {"behavior", "Isolated"},
                                                {"invert", false}},
                                           json{{"type", "ByteLevel"},
                                                {"add_prefix_space", false},
                                                {"use_regex", false}}})}}},
      {"post_processor", nullptr},
      {"decoder", json{{"type", "ByteLevel"}}},
      {"model",
       json{{"type", "BPE"},
            {"vocab", json{{"a", 0}, {"b", 1}, {"c", 2}, {space, 3}, {"ab", 4}, {"abc", 5}}},
            {"merges", json::array({"a b", "ab c"})}}},
  };
}

Tokenizer from(const json& j) {
  return Tokenizer::from_json(j.dump(), "test.json");
}

std::string load_error(const json& j) {
  try {
    from(j);
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Tokenizer, TinyMergesByRank) {
  const Tokenizer t = from(tiny_tokenizer());
  EXPECT_EQ(t.encode("abc"), (std::vector<TokenId>{5}));
  EXPECT_EQ(t.encode("abcab cb"), (std::vector<TokenId>{5, 4, 3, 2, 1}));
  EXPECT_EQ(t.encode("ab<|end|>c"), (std::vector<TokenId>{4, 6, 2}));
  EXPECT_EQ(t.decode(std::vector<TokenId>{5, 6, 3, 2}), "abc<|end|> c");
  EXPECT_EQ(t.decode(std::vector<TokenId>{5, 6, 3, 2}, /*skip_special_tokens=*/true), "abc c");
  EXPECT_EQ(t.decode(std::vector<TokenId>{5, 999, 4}), "abcab");  // unknown ids are skipped
  EXPECT_TRUE(t.is_special(6));
  EXPECT_FALSE(t.is_special(5));
  EXPECT_EQ(t.vocab_size(), 7u);
  EXPECT_EQ(t.token_to_id("abc"), 5u);
  EXPECT_EQ(t.token_to_id("<|end|>"), 6u);
  EXPECT_EQ(t.id_to_token(3), "\xC4\xA0");
  EXPECT_EQ(t.token_bytes(3), " ");
}

TEST(Tokenizer, BothMergeFormatsGiveTheSameIds) {
  json pairs = read_json(kSource / "assets/tokenizer/tokenizer.json");
  ASSERT_TRUE(pairs["model"]["merges"][0].is_string());
  const Tokenizer with_strings = from(pairs);
  for (json& m : pairs["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    m = json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  const Tokenizer with_pairs = from(pairs);
  for (const char* text : {"Hello world, it's 2024!", "你好世界 😀", "  def f(x):\n\treturn x\n"}) {
    EXPECT_EQ(with_strings.encode(text), with_pairs.encode(text)) << text;
  }
}

TEST(Tokenizer, AssetsRoundTripToNfcText) {
  for (const char* file :
       {"assets/tokenizer/tokenizer.json", "assets/tokenizer/deepseek/tokenizer.json"}) {
    const Tokenizer t = Tokenizer::load(kSource / file);
    const bool nfc =
        std::string(file).find("deepseek") == std::string::npos;  // DeepSeek: no normalizer
    for (const std::string text : {"e\xCC\x81 caf\xC3\xA9", "<|im_start|>user\nHi<|im_end|>",
                                   "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD  x\r\n"}) {
      EXPECT_EQ(t.decode(t.encode(text)), nfc ? unicode::nfc(text) : text) << file;
    }
  }
}

TEST(Tokenizer, QwenSpecialTokensAreSplitOutFirst) {
  const Tokenizer t = Tokenizer::load(kSource / "assets/tokenizer/tokenizer.json");
  const std::vector<TokenId> user = t.encode("user");
  const std::vector<TokenId> ids = t.encode("<|im_start|>user<|im_end|><|endoftext|>");
  std::vector<TokenId> want{*t.token_to_id("<|im_start|>")};
  want.insert(want.end(), user.begin(), user.end());
  want.push_back(*t.token_to_id("<|im_end|>"));
  want.push_back(*t.token_to_id("<|endoftext|>"));
  EXPECT_EQ(ids, want);
  EXPECT_EQ(t.encode("x", SpecialTokens::kAdd), t.encode("x"));  // Qwen2 adds nothing
}

TEST(Tokenizer, DeepSeekTemplateAddsBos) {
  const Tokenizer t = Tokenizer::load(kSource / "assets/tokenizer/deepseek/tokenizer.json");
  const std::vector<TokenId> ids = t.encode("x", SpecialTokens::kAdd);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(t.id_to_token(ids[0]),
            "<\xEF\xBD\x9C"
            "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
}

// The Rust crate gives an added token whose content is already a vocabulary entry the
// vocabulary's id, whatever id the file lists (DeepSeek's "õ" tokens); the JavaScript port
// keeps the file's id. We follow the Rust crate, which is what transformers runs.
TEST(Tokenizer, AddedTokenAlreadyInVocabularyKeepsVocabularyId) {
  json j = tiny_tokenizer();
  j["added_tokens"].push_back(
      json{{"id", 7}, {"content", "ab"}, {"special", false}, {"normalized", true}});
  const Tokenizer t = from(j);
  EXPECT_EQ(t.encode("ab"), (std::vector<TokenId>{4}));
  EXPECT_EQ(t.encode("cab"), (std::vector<TokenId>{2, 4}));
}

TEST(Tokenizer, LstripAndRstripSwallowWhiteSpace) {
  json j = tiny_tokenizer();
  j["added_tokens"][0]["lstrip"] = true;
  j["added_tokens"][0]["rstrip"] = true;
  const Tokenizer t = from(j);
  EXPECT_EQ(t.encode("ab  <|end|>  c"), (std::vector<TokenId>{4, 6, 2}));
}

TEST(Tokenizer, MalformedUtf8IsReadAsReplacementCharacters) {
  const Tokenizer t = Tokenizer::load(kSource / "assets/tokenizer/tokenizer.json");
  EXPECT_EQ(t.decode(t.encode("a\xFF"
                              "b\xE6\x97")),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(Tokenizer, ThroughputIsMeasured) {
  const Tokenizer t = Tokenizer::load(kSource / "assets/tokenizer/tokenizer.json");
  const TokenizerThroughput r = measure_tokenizer_throughput(t, "Hello world, it's a test. ", 0.01);
  EXPECT_GT(r.megabytes_per_second, 0.0);
  EXPECT_GT(r.tokens, 0u);
  EXPECT_GE(r.repetitions, 1);
}

TEST(TokenizerErrors, FileAndJson) {
  try {
    Tokenizer::load(kSource / "no/such/tokenizer.json");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.json: cannot open tokenizer file"),
              std::string::npos);
  }
  try {
    Tokenizer::from_json("{\"model\": [1, 2", "t.json");
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("t.json: offset"), std::string::npos) << e.what();
  }
  EXPECT_EQ(load_error(json::array()), "test.json: the top level is not a JSON object");
}

struct Mutation {
  const char* name;
  void (*apply)(json&);
  const char* message;
};

class TokenizerRefusal : public ::testing::TestWithParam<Mutation> {};

TEST_P(TokenizerRefusal, SaysWhereAndWhy) {
  json j = tiny_tokenizer();
  GetParam().apply(j);
  EXPECT_EQ(load_error(j), GetParam().message);
}

const Mutation kMutations[] = {
    {"NoModel", [](json& j) { j.erase("model"); }, "test.json: (top level): missing field 'model'"},
    {"Truncation", [](json& j) { j["truncation"] = json::object(); },
     "test.json: truncation: truncation and padding are not supported (must be null)"},
    {"Normalizer",
     [](json& j) {
       j["normalizer"] = json{{"type", "NFKC"}};
     },
     "test.json: normalizer.type: unsupported normalizer 'NFKC' (only NFC and Sequence)"},
    {"NormalizerList",
     [](json& j) {
       j["normalizer"] = json{{"type", "Sequence"}, {"normalizers", 3}};
     },
     "test.json: normalizer.normalizers: expected an array"},
    {"PreTokenizerType",
     [](json& j) {
       j["pre_tokenizer"] = json{{"type", "Whitespace"}};
     },
     "test.json: pre_tokenizer.type: unsupported pre-tokenizer 'Whitespace' (only Split, ByteLevel "
     "and Sequence)"},
    {"PreTokenizerNoType", [](json& j) { j["pre_tokenizer"] = json::object(); },
     "test.json: pre_tokenizer: missing field 'type'"},
    {"PreTokenizerList", [](json& j) { j["pre_tokenizer"]["pretokenizers"] = "x"; },
     "test.json: pre_tokenizer.pretokenizers: expected an array"},
    {"SplitPattern",
     [](json& j) {
       j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = json{{"Glob", "*"}};
     },
     "test.json: pre_tokenizer.pretokenizers[0].pattern: expected {\"Regex\": ...} or {\"String\": "
     "...}"},
    {"SplitBehavior",
     [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways"; },
     "test.json: pre_tokenizer.pretokenizers[0].behavior: unknown behavior 'Sideways'"},
    {"SplitInvert", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["invert"] = "no"; },
     "test.json: pre_tokenizer.pretokenizers[0].invert: expected true or false"},
    {"SplitRegex",
     [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(?<=a)b"; },
     "test.json: pre_tokenizer.pretokenizers[0].pattern.Regex: regex offset 2: lookbehind is not "
     "supported"},
    {"DeepSequence",
     [](json& j) {
       json p = json{{"type", "ByteLevel"}};
       for (int i = 0; i < 10; ++i)
         p = json{{"type", "Sequence"}, {"pretokenizers", json::array({p})}};
       j["pre_tokenizer"] = p;
     },
     "test.json: "
     "pre_tokenizer.pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0]."
     "pretokenizers[0]."
     "pretokenizers[0].pretokenizers[0].pretokenizers[0].pretokenizers[0]: pre-tokenizer sequences "
     "nested too deeply"},
    {"TooManyClasses",
     [](json& j) {
       json split = j["pre_tokenizer"]["pretokenizers"][0];
       split["pattern"]["Regex"] = "[a][b][c][d][e][f][g][h][i][j][k]";
       for (int i = 0; i < 100; ++i) j["pre_tokenizer"]["pretokenizers"].push_back(split);
     },
     "test.json: pre_tokenizer.pretokenizers[94]: the patterns so far hold 1026 character classes "
     "(at most 1024)"},
    {"ModelType", [](json& j) { j["model"]["type"] = "Unigram"; },
     "test.json: model.type: unsupported model 'Unigram' (only BPE)"},
    {"ModelNotObject", [](json& j) { j["model"] = 3; }, "test.json: model: expected a JSON object"},
    {"VocabNotObject", [](json& j) { j["model"]["vocab"] = json::array(); },
     "test.json: model.vocab: expected an object of token -> id"},
    {"VocabId", [](json& j) { j["model"]["vocab"]["a"] = -1; },
     "test.json: model.vocab['a']: expected a token id (an integer from 0 to 4294967294)"},
    {"VocabFarId", [](json& j) { j["model"]["vocab"]["a"] = 4000000000u; },
     "test.json: model.vocab: id 4000000000 of 'a' is far beyond the vocabulary size (6 entries)"},
    {"VocabDuplicateId", [](json& j) { j["model"]["vocab"]["c"] = 0; },
     "test.json: model.vocab: id 0 is used by both 'a' and 'c'"},
    {"MergesNotArray", [](json& j) { j["model"]["merges"] = "a b"; },
     "test.json: model.merges: expected an array"},
    {"MergeNoSpace", [](json& j) { j["model"]["merges"][1] = "abc"; },
     "test.json: model.merges[1]: expected \"left right\" with exactly one space, got \"abc\""},
    {"MergeTwoSpaces", [](json& j) { j["model"]["merges"][0] = "a b c"; },
     "test.json: model.merges[0]: expected \"left right\" with exactly one space, got \"a b c\""},
    {"MergeShape", [](json& j) { j["model"]["merges"][0] = json::array({"a"}); },
     "test.json: model.merges[0]: expected \"left right\" or [\"left\", \"right\"]"},
    {"MergeUnknownPart", [](json& j) { j["model"]["merges"][0] = "a x"; },
     "test.json: model.merges[0]: 'x' is not in the vocabulary"},
    {"MergeUnknownResult", [](json& j) { j["model"]["merges"][1] = "b c"; },
     "test.json: model.merges[1]: 'bc' (the merge's result) is not in the vocabulary"},
    {"UnkToken", [](json& j) { j["model"]["unk_token"] = "<unk>"; },
     "test.json: model.unk_token: '<unk>' is not in the vocabulary"},
    {"ByteFallback", [](json& j) { j["model"]["byte_fallback"] = true; },
     "test.json: model.byte_fallback: byte fallback is not supported"},
    {"Dropout", [](json& j) { j["model"]["dropout"] = 0.1; },
     "test.json: model.dropout: BPE dropout is not supported (must be null or 0)"},
    {"Prefix", [](json& j) { j["model"]["continuing_subword_prefix"] = "##"; },
     "test.json: model.continuing_subword_prefix: subword prefixes and suffixes are not supported"},
    {"AddedNotArray", [](json& j) { j["added_tokens"] = json::object(); },
     "test.json: added_tokens: expected an array"},
    {"AddedNoId", [](json& j) { j["added_tokens"][0].erase("id"); },
     "test.json: added_tokens[0]: missing field 'id'"},
    {"AddedEmpty", [](json& j) { j["added_tokens"][0]["content"] = ""; },
     "test.json: added_tokens[0].content: empty added token"},
    {"AddedSingleWord", [](json& j) { j["added_tokens"][0]["single_word"] = true; },
     "test.json: added_tokens[0].single_word: single_word tokens are not supported"},
    {"AddedFarId", [](json& j) { j["added_tokens"][0]["id"] = 3000000000u; },
     "test.json: added_tokens[0].id: id 3000000000 is far beyond the vocabulary size"},
    {"PostProcessor",
     [](json& j) {
       j["post_processor"] = json{{"type", "BertProcessing"}};
     },
     "test.json: post_processor.type: unsupported post-processor 'BertProcessing' (only ByteLevel "
     "and TemplateProcessing)"},
    {"TemplateNoSequence",
     [](json& j) {
       j["post_processor"] = json{{"type", "TemplateProcessing"}, {"single", json::array()}};
     },
     "test.json: post_processor.single: the template has no $A sequence"},
    {"TemplateUnknownSpecial",
     [](json& j) {
       j["post_processor"] =
           json{{"type", "TemplateProcessing"},
                {"single", json::array({json{{"SpecialToken", json{{"id", "<s>"}}}}})}};
     },
     "test.json: post_processor.special_tokens: no entry for '<s>'"},
    {"Decoder",
     [](json& j) {
       j["decoder"] = json{{"type", "WordPiece"}};
     },
     "test.json: decoder.type: unsupported decoder 'WordPiece' (only ByteLevel)"},
};

INSTANTIATE_TEST_SUITE_P(Refusals, TokenizerRefusal, ::testing::ValuesIn(kMutations),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace vkmoe
