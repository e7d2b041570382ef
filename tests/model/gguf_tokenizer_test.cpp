// The tokenizer rebuilt from a GGUF file's tokenizer.ggml.* metadata against the Hugging Face
// tokenizer.json it was converted from (tools/tiny_models writes both, as convert_hf_to_gguf.py
// would), on the strings the npm comparison uses: ids without and with special tokens, and
// decoded text. Plus the errors for what cannot be rebuilt.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loaders/gguf_tokenizer_json.h"
#include "loaders/load_error.h"
#include "loaders/tokenizer.h"

namespace vkmoe {
namespace {

const std::filesystem::path kModels = VKMOE_TINY_MODELS_DIR;
const std::filesystem::path kSource = VKMOE_SOURCE_DIR;

struct Pair {
  const char* gguf;
  const char* hf_folder;  // same weight family, so the same tokenizer
};

class GgufEmbeddedTokenizer : public ::testing::TestWithParam<Pair> {};

TEST_P(GgufEmbeddedTokenizer, EncodesAndDecodesAsTheHuggingFaceFile) {
  const Pair p = GetParam();
  const GgufFile file = GgufFile::open(kModels / p.gguf);
  const Tokenizer from_gguf =
      Tokenizer::from_json(tokenizer_json_from_gguf(gguf_tokenizer(file), p.gguf), p.gguf);
  const Tokenizer from_hf = Tokenizer::load(kModels / p.hf_folder / "tokenizer.json");
  std::ifstream strings(kSource / "tests/tokenizer_npm/strings.jsonl");
  ASSERT_TRUE(strings);
  std::string line;
  std::size_t compared = 0, failures = 0;
  while (std::getline(strings, line)) {
    if (line.empty()) continue;
    const std::string text = nlohmann::json::parse(line).get<std::string>();
    const std::vector<TokenId> ids = from_hf.encode(text);
    const bool same =
        from_gguf.encode(text) == ids &&
        from_gguf.encode(text, SpecialTokens::kAdd) == from_hf.encode(text, SpecialTokens::kAdd) &&
        from_gguf.decode(ids) == from_hf.decode(ids);
    if (!same && ++failures <= 5) ADD_FAILURE() << "differs on " << nlohmann::json(text).dump();
    ++compared;
  }
  EXPECT_EQ(failures, 0u) << failures << " of " << compared << " strings differ";
  EXPECT_GE(compared, 2000u);
}

// qwen2 (NFC, no BOS) and deepseek-llm (six Split rules, BOS added) pre-tokenizers.
INSTANTIATE_TEST_SUITE_P(TinyModels, GgufEmbeddedTokenizer,
                         ::testing::Values(Pair{"qwen2_moe-q8_0.gguf", "qwen2_moe-f32"},
                                           Pair{"deepseek-f32.gguf", "deepseek-f32"}));

TEST(GgufEmbeddedTokenizerErrors, NamesWhatCannotBeRebuilt) {
  GgufTokenizer g;
  g.model = "gpt2";
  g.pre = "llama-bpe";
  g.tokens = {"a", "b", "ab"};
  g.merges = {"a b"};
  try {
    tokenizer_json_from_gguf(g, "m.gguf");
    FAIL() << "an unknown pre-tokenizer was accepted";
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("m.gguf: tokenizer.ggml.pre is 'llama-bpe'"),
              std::string::npos)
        << e.what();
  }
  g.pre = "qwen2";
  g.model = "llama";
  EXPECT_THROW(tokenizer_json_from_gguf(g, "m.gguf"), LoadError);
  g.model = "gpt2";
  g.merges.clear();
  EXPECT_THROW(tokenizer_json_from_gguf(g, "m.gguf"), LoadError);
}

}  // namespace
}  // namespace vkmoe
