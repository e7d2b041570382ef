// The hand-written matcher: Oniguruma semantics on the constructs tokenizer.json patterns use,
// and one test per refusal.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "loaders/load_error.h"
#include "loaders/tokenizer_regex.h"
#include "loaders/unicode.h"

namespace vkmoe {
namespace {

// The pieces find_all cuts `text` into (matches only), as UTF-8.
std::vector<std::string> matches(const char* pattern, const std::string& text) {
  const TokenizerRegex regex = TokenizerRegex::compile(pattern, "test");
  const std::u32string cps = unicode::to_code_points(text);
  std::vector<std::string> out;
  for (const auto& m : regex.find_all(cps))
    out.push_back(unicode::to_utf8(cps.substr(m.begin, m.end - m.begin)));
  return out;
}

std::string compile_error(const char* pattern) {
  try {
    TokenizerRegex::compile(pattern, "p");
  } catch (const LoadError& e) {
    return e.what();
  }
  return "(no error)";
}

using V = std::vector<std::string>;

TEST(TokenizerRegex, Qwen2Pattern) {
  const char* qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(matches(qwen2, "Hello world's  2024!!\n\n  x"),
            (V{"Hello", " world", "'s", " ", " ", "2", "0", "2", "4", "!!\n\n", " ", " x"}));
  EXPECT_EQ(matches(qwen2, "DON'T"), (V{"DON", "'T"}));
  EXPECT_EQ(matches(qwen2, "x   \n  y"), (V{"x", "   \n", " ", " y"}));
  EXPECT_EQ(matches(qwen2, "caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD"),
            (V{"caf\xC3\xA9", " \xE4\xBD\xA0\xE5\xA5\xBD"}));
}

TEST(TokenizerRegex, AlternationIsOrderedNotLongest) {
  EXPECT_EQ(matches("a|ab", "ab"), (V{"a"}));
  EXPECT_EQ(matches("ab|a", "ab"), (V{"ab"}));
}

TEST(TokenizerRegex, GreedyAndLazyBacktrack) {
  EXPECT_EQ(matches(R"(\s+(?!\S))", "   x"), (V{"  "}));
  EXPECT_EQ(matches("a+?b", "aaab"), (V{"aaab"}));
  EXPECT_EQ(matches("a{2,3}", "aaaaaaa"), (V{"aaa", "aaa"}));
  EXPECT_EQ(matches("(?:ab){2}", "abababab"), (V{"abab", "abab"}));
  EXPECT_EQ(matches("x(?:ab)*?y", "xababy"), (V{"xababy"}));
  EXPECT_EQ(matches("(?:a|b)*c", "ababc"), (V{"ababc"}));
}

TEST(TokenizerRegex, ClassesPropertiesAndEscapes) {
  EXPECT_EQ(matches(R"([\p{N}\-]+)", "a1-2b"), (V{"1-2"}));
  EXPECT_EQ(matches(R"(\P{L}+)", "ab12,c"), (V{"12,"}));
  EXPECT_EQ(matches(R"(\p{^L}+)", "ab12,c"), (V{"12,"}));
  EXPECT_EQ(matches(R"([^\s\p{L}]+)", "a ;; b"), (V{";;"}));
  EXPECT_EQ(matches(R"(\x{4E00}|\u4e8c|\x41)", "A\xE4\xB8\x80\xE4\xBA\x8C"),
            (V{"A", "\xE4\xB8\x80", "\xE4\xBA\x8C"}));
  EXPECT_EQ(matches(R"(\d+)",
                    "x\xD9\xA3"
                    "4"),
            (V{"\xD9\xA3"
               "4"}));  // Arabic-Indic three is Nd
  EXPECT_EQ(matches(R"([[a-c]x])", "bxq"), (V{"b", "x"}));
  EXPECT_EQ(matches(".", "a\nb"), (V{"a", "b"}));
  EXPECT_EQ(matches(R"(\p{Letter}+)", "ab1"), (V{"ab"}));
}

TEST(TokenizerRegex, WhiteSpaceIsTheUnicodeProperty) {
  // U+0085 and U+3000 are White_Space; U+200B (zero width space) is not; neither is U+FEFF.
  EXPECT_EQ(matches(R"(\s+)",
                    "a\xC2\x85\xE3\x80\x80"
                    "b\xE2\x80\x8B"
                    "c\xEF\xBB\xBF"),
            (V{"\xC2\x85\xE3\x80\x80"}));
}

TEST(TokenizerRegex, Anchors) {
  EXPECT_EQ(matches(R"(\s+$)", "a  \nb  "), (V{"  ", "  "}));
  EXPECT_EQ(matches("^a", "aa\na"), (V{"a", "a"}));
  EXPECT_EQ(matches(R"(\Aa)", "aa\na"), (V{"a"}));
  EXPECT_EQ(matches(R"(a\z)", "a\na"), (V{"a"}));
  EXPECT_EQ(matches(R"(a\Z)", "aa\n"), (V{"a"}));
}

TEST(TokenizerRegex, CaseInsensitiveAsciiAndItsTwoFolds) {
  EXPECT_EQ(matches("(?i:'s|'ll)", "'S 'Ll '\xC5\xBF"),
            (V{"'S", "'Ll", "'\xC5\xBF"}));                                      // U+017F long s
  EXPECT_EQ(matches("(?i)k", "kK\xE2\x84\xAA"), (V{"k", "K", "\xE2\x84\xAA"}));  // U+212A Kelvin
  EXPECT_EQ(matches("(?i:[a-c])+", "aBcD"), (V{"aBc"}));
}

TEST(TokenizerRegex, EmptyMatchesAdvanceOneCharacter) {
  EXPECT_EQ(matches("a*", "baab"), (V{"", "aa", ""}));  // as onig find_iter: none right after "aa"
  EXPECT_EQ(matches("(?:a*)*b", "aab"), (V{"aab"}));    // a loop whose body matches empty ends
}

TEST(TokenizerRegex, HostilePatternsHitTheBudgetInsteadOfHanging) {
  const TokenizerRegex regex = TokenizerRegex::compile("(?:a|a)*b", "hostile");
  const std::u32string text(40, U'a');
  try {
    regex.find_all(text);
    FAIL();
  } catch (const LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("hostile: regex exceeded"), std::string::npos) << e.what();
  }
}

TEST(TokenizerRegexErrors, NameTheOffset) {
  EXPECT_EQ(compile_error("a)"), "p: regex offset 1: unmatched ')'");
  EXPECT_EQ(compile_error("(a"), "p: regex offset 2: missing ')'");
  EXPECT_EQ(compile_error("(?<!a)b"), "p: regex offset 2: lookbehind is not supported");
  EXPECT_EQ(compile_error("(?>a)"), "p: regex offset 2: atomic groups are not supported");
  EXPECT_EQ(compile_error("(?x)a"), "p: regex offset 2: unsupported group syntax (?x");
  EXPECT_EQ(compile_error("a++"), "p: regex offset 2: possessive quantifiers are not supported");
  EXPECT_EQ(compile_error("*a"), "p: regex offset 0: quantifier without a target");
  EXPECT_EQ(compile_error("(?=a)*"), "p: regex offset 6: quantifier on an anchor or lookahead");
  EXPECT_EQ(compile_error(R"(\w)"), "p: regex offset 2: unsupported escape \\w");
  EXPECT_EQ(compile_error(R"(\b)"), "p: regex offset 2: unsupported escape \\b");
  EXPECT_EQ(compile_error(R"(\p{Han})"),
            "p: regex offset 7: unsupported property \\p{Han} (only general categories)");
  EXPECT_EQ(compile_error(R"(\p{L)"), "p: regex offset 4: unterminated \\p{...}");
  EXPECT_EQ(compile_error(R"(\pL)"), "p: regex offset 2: \\p without {name}");
  EXPECT_EQ(compile_error(R"(\x{110000})"), "p: regex offset 10: code point beyond U+10FFFF");
  EXPECT_EQ(compile_error(R"(\xZ)"), "p: regex offset 2: bad hexadecimal escape");
  EXPECT_EQ(compile_error("\\"), "p: regex offset 1: pattern ends with a backslash");
  EXPECT_EQ(compile_error("[abc"), "p: regex offset 4: unterminated character class");
  EXPECT_EQ(compile_error("[z-a]"), "p: regex offset 4: class range out of order");
  EXPECT_EQ(compile_error(R"([a-\s])"), "p: regex offset 5: class range with a set as its end");
  EXPECT_EQ(compile_error("[a[^b]]"),
            "p: regex offset 3: negated nested classes are not supported");
  EXPECT_EQ(compile_error("[[:alpha:]]"),
            "p: regex offset 1: POSIX bracket expressions are not supported");
  EXPECT_EQ(compile_error("[a&&b]"), "p: regex offset 2: class intersection (&&) is not supported");
  EXPECT_EQ(compile_error("a{1001}"), "p: regex offset 1: repeat count larger than 1000");
  EXPECT_EQ(compile_error("a{3,2}"), "p: regex offset 1: repeat range {n,m} with m < n");
  EXPECT_EQ(compile_error("(?i:\xC3\xA9)"),
            "p: regex offset 5: case-insensitive matching of non-ASCII letters is not supported");
  EXPECT_EQ(compile_error(R"((?i:\p{Lu}))"),
            "p: regex offset 10: case-sensitive letter categories inside (?i) are not supported");
  EXPECT_EQ(compile_error("a\xFF"), "p: regex offset 0: pattern is not valid UTF-8 (byte 1)");
  EXPECT_EQ(compile_error("(?:(?:a{1000}){1000}){1000}"),
            "p: regex too large after expanding counted repetitions");
  std::string many;
  for (int i = 0; i < 600; ++i) many += "[a]";
  EXPECT_EQ(compile_error(many.c_str()), "p: regex offset 1539: more than 512 character classes");
  std::string deep(70, '(');
  deep += std::string(70, ')');
  EXPECT_EQ(compile_error(deep.c_str()), "p: regex offset 65: groups nested deeper than 64");
}

}  // namespace
}  // namespace vkmoe
