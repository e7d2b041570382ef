// Internals shared by the regex compiler (tokenizer_regex_compile.cpp) and the matcher
// (tokenizer_regex.cpp): character classes and the backtracking program.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vkmoe::regex_detail {

// A union of code point ranges, general categories and White_Space (or its complement),
// optionally negated as a whole. BMP membership is precomputed into a bitset.
struct CharClass {
  std::vector<std::pair<char32_t, char32_t>> ranges;  // inclusive
  std::uint32_t categories = 0;                       // bit i: GeneralCategory i
  bool white_space = false;
  bool not_white_space = false;
  bool negated = false;

  bool contains_slow(char32_t c) const;
  void finalize();  // fills `bmp`
  bool contains(char32_t c) const { return c < 0x10000 ? bmp[c] : contains_slow(c); }

  std::bitset<0x10000> bmp;
};

enum class Op : std::uint8_t {
  kChar,              // a: code point
  kClass,             // a: class index
  kRepeatClass,       // a: class index, min, max, greedy
  kSplit,             // try a first, then b
  kJump,              // a
  kLineStart,         // ^: at the start or after \n
  kLineEnd,           // $: at the end or before \n
  kTextStart,         // \A
  kTextEnd,           // \z
  kTextEndOrNewline,  // \Z: at the end or before a final \n
  kLookahead,         // sub-program [a, b) ending in kMatch; negate
  kSavePosition,      // a: register (start of an iteration of a loop whose body may match empty)
  kCheckProgress,     // a: register; fails when the iteration consumed nothing
  kMatch,
};

inline constexpr std::uint32_t kUnbounded = 0xFFFFFFFFu;

struct Instruction {
  Op op;
  bool flag = false;  // greedy (kRepeatClass) or negate (kLookahead)
  std::uint32_t a = 0, b = 0;
  std::uint32_t min = 0, max = 0;
};

struct Program {
  std::vector<Instruction> code;
  std::vector<CharClass> classes;
  std::uint32_t registers = 0;
  // When non-empty, a match can only start at a code point that one of these classes holds
  // (the search skips other positions without running the program).
  std::vector<std::uint32_t> first_classes;
  std::string context;  // for error messages: "<file>: <json path>"
};

}  // namespace vkmoe::regex_detail
