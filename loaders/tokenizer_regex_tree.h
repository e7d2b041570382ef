// The syntax tree between the regex parser (tokenizer_regex_parse.cpp) and the compiler
// (tokenizer_regex_compile.cpp). Internal to the tokenizer regex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "loaders/tokenizer_regex_program.h"

namespace vkmoe::regex_detail {

inline constexpr std::size_t kMaxInstructions = 20000;  // after expanding counted repetitions
inline constexpr std::size_t kMaxClasses = 512;         // each holds an 8 KiB table of the BMP

enum class NodeKind { kEmpty, kChar, kClass, kConcat, kAlternation, kRepeat, kLookahead, kAssert };

struct Node {
  NodeKind kind = NodeKind::kEmpty;
  char32_t code_point = 0;    // kChar
  std::uint32_t index = 0;    // kClass: class index
  Op assertion = Op::kMatch;  // kAssert
  std::vector<std::unique_ptr<Node>> children;
  std::uint32_t min = 0, max = 0;  // kRepeat
  bool flag = false;               // kRepeat: greedy; kLookahead: negate
};
using NodePtr = std::unique_ptr<Node>;

inline NodePtr make(NodeKind kind) {
  auto node = std::make_unique<Node>();
  node->kind = kind;
  return node;
}

// Parses `pattern` (Oniguruma syntax, UTF-8); character classes go to program.classes.
// Throws LoadError "<program.context>: regex offset N: <what>".
NodePtr parse_regex(std::string_view pattern, Program& program);

}  // namespace vkmoe::regex_detail
