// Our tokenizer against the npm packages, on the >= 2,000 strings of
// tests/tokenizer_npm/strings.jsonl (see tools/gen_tokenizer_strings.py for what they hold and
// why they avoid characters assigned after Unicode 12.1).
//
// Without VKMOE_TOKENIZER_NPM_DIR the expected ids are the committed
// tests/tokenizer_npm/expected_{qwen2,deepseek}.jsonl (made by @huggingface/tokenizers). With it
// set (CI: .ci/tokenizer_npm.sh DIR), DIR must hold {js,rust}_{qwen2,deepseek}.jsonl freshly
// computed by @huggingface/tokenizers and by the Rust crate's Node binding, and ids, ids with
// special tokens, and decoded text are all compared.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "loaders/tokenizer.h"

namespace vkmoe {
namespace {

const std::filesystem::path kSource = VKMOE_SOURCE_DIR;
constexpr std::size_t kMinStrings = 2000;

std::vector<nlohmann::json> read_lines(const std::filesystem::path& path) {
  std::ifstream file(path);
  EXPECT_TRUE(file) << "cannot open " << path;
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(file, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

std::string describe(const std::string& s) {
  return nlohmann::json(s).dump();
}

struct Case {
  const char* name;
  const char* tokenizer;
};

class TokenizerNpm : public ::testing::TestWithParam<Case> {};

TEST_P(TokenizerNpm, IdsMatchForEveryString) {
  const Case c = GetParam();
  const Tokenizer tokenizer = Tokenizer::load(kSource / c.tokenizer);
  const std::vector<nlohmann::json> strings =
      read_lines(kSource / "tests/tokenizer_npm/strings.jsonl");
  ASSERT_GE(strings.size(), kMinStrings);

  const char* fresh_dir = std::getenv("VKMOE_TOKENIZER_NPM_DIR");
  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> references;
  if (fresh_dir != nullptr && *fresh_dir != '\0') {
    for (const char* impl : {"js", "rust"}) {
      const auto path =
          std::filesystem::path(fresh_dir) / (std::string(impl) + "_" + c.name + ".jsonl");
      ASSERT_TRUE(std::filesystem::exists(path)) << path << " missing: run .ci/tokenizer_npm.sh";
      references.emplace_back(impl, read_lines(path));
    }
  } else {
    references.emplace_back("committed",
                            read_lines(kSource / "tests/tokenizer_npm" /
                                       (std::string("expected_") + c.name + ".jsonl")));
  }

  for (const auto& [impl, expected] : references) {
    ASSERT_EQ(expected.size(), strings.size()) << impl;
    std::size_t compared = 0, failures = 0;
    for (std::size_t i = 0; i < strings.size(); ++i) {
      const std::string text = strings[i].get<std::string>();
      const nlohmann::json& row = expected[i];
      const bool full = row.is_object();
      const std::vector<TokenId> want = (full ? row.at("ids") : row).get<std::vector<TokenId>>();
      const std::vector<TokenId> got = tokenizer.encode(text);
      bool ok = got == want;
      if (full) {
        ok &= tokenizer.encode(text, SpecialTokens::kAdd) ==
              row.at("ids_with_special").get<std::vector<TokenId>>();
        ok &= tokenizer.decode(got) == row.at("decoded").get<std::string>();
      }
      if (!ok && ++failures <= 5) {
        ADD_FAILURE() << impl << " " << c.name << " string " << i << " " << describe(text)
                      << "\n expected " << nlohmann::json(want).dump() << "\n      got "
                      << nlohmann::json(got).dump();
      }
      ++compared;
    }
    EXPECT_EQ(failures, 0u) << impl << ": " << failures << " of " << compared << " strings differ";
    EXPECT_GE(compared, kMinStrings);
    std::printf("[ tokenizer ] %s vs %s: %zu strings compared, %zu differ\n", c.name, impl.c_str(),
                compared, failures);
  }
}

INSTANTIATE_TEST_SUITE_P(Assets, TokenizerNpm,
                         ::testing::Values(Case{"qwen2", "assets/tokenizer/tokenizer.json"},
                                           Case{"deepseek",
                                                "assets/tokenizer/deepseek/tokenizer.json"}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace vkmoe
