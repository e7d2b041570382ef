// Compiles the tree of tokenizer_regex_tree.h into the backtracking program of
// tokenizer_regex_program.h.
#include <algorithm>
#include <memory>
#include <string>

#include "loaders/load_error.h"
#include "loaders/tokenizer_regex.h"
#include "loaders/tokenizer_regex_tree.h"

namespace vkmoe {
namespace regex_detail {
namespace {

bool nullable(const Node& n) {
  switch (n.kind) {
    case NodeKind::kChar:
    case NodeKind::kClass:
      return false;
    case NodeKind::kConcat:
      return std::all_of(n.children.begin(), n.children.end(),
                         [](const NodePtr& c) { return nullable(*c); });
    case NodeKind::kAlternation:
      return std::any_of(n.children.begin(), n.children.end(),
                         [](const NodePtr& c) { return nullable(*c); });
    case NodeKind::kRepeat:
      return n.min == 0 || nullable(*n.children[0]);
    default:
      return true;
  }
}

// Classes that hold every code point a match can start with; false when that cannot be told
// (the node can match empty, starts with an anchor or lookahead, or there are too many).
bool first_classes(const Node& n, Program& program, std::vector<std::uint32_t>& out) {
  switch (n.kind) {
    case NodeKind::kChar: {
      if (program.classes.size() >= kMaxClasses || out.size() > 8) return false;
      CharClass cls;
      cls.ranges.emplace_back(n.code_point, n.code_point);
      out.push_back(static_cast<std::uint32_t>(program.classes.size()));
      program.classes.push_back(std::move(cls));
      return true;
    }
    case NodeKind::kClass:
      out.push_back(n.index);
      return true;
    case NodeKind::kConcat: {
      for (const NodePtr& child : n.children) {
        if (!first_classes(*child, program, out)) return false;
        if (!nullable(*child)) return true;
      }
      return false;
    }
    case NodeKind::kAlternation:
      for (const NodePtr& child : n.children) {
        if (!first_classes(*child, program, out)) return false;
      }
      return out.size() <= 8;
    case NodeKind::kRepeat:
      return n.min > 0 && first_classes(*n.children[0], program, out);
    default:
      return false;
  }
}

class Compiler {
 public:
  explicit Compiler(Program& program) : program_(program) {}

  void emit_node(const Node& n) {
    // Both bounds matter: repeated empty groups add no instructions but still cost calls.
    if (program_.code.size() > kMaxInstructions || ++calls_ > 50 * kMaxInstructions) {
      throw LoadError(program_.context + ": regex too large after expanding counted repetitions");
    }
    switch (n.kind) {
      case NodeKind::kEmpty:
        return;
      case NodeKind::kChar:
        emit({Op::kChar, false, n.code_point});
        return;
      case NodeKind::kClass:
        emit({Op::kClass, false, n.index});
        return;
      case NodeKind::kAssert:
        emit({n.assertion});
        return;
      case NodeKind::kConcat:
        for (const NodePtr& child : n.children) emit_node(*child);
        return;
      case NodeKind::kAlternation:
        emit_alternation(n, 0);
        return;
      case NodeKind::kLookahead: {
        const std::size_t look = emit({Op::kLookahead, n.flag});
        program_.code[look].a = static_cast<std::uint32_t>(program_.code.size());
        emit_node(*n.children[0]);
        emit({Op::kMatch});
        program_.code[look].b = static_cast<std::uint32_t>(program_.code.size());
        return;
      }
      case NodeKind::kRepeat:
        emit_repeat(n);
        return;
    }
  }

  std::size_t emit(Instruction inst) {
    program_.code.push_back(inst);
    return program_.code.size() - 1;
  }

 private:
  void emit_alternation(const Node& n, std::size_t i) {
    if (i + 1 == n.children.size()) {
      emit_node(*n.children[i]);
      return;
    }
    const std::size_t split = emit({Op::kSplit});
    program_.code[split].a = here();
    emit_node(*n.children[i]);
    const std::size_t jump = emit({Op::kJump});
    program_.code[split].b = here();
    emit_alternation(n, i + 1);
    program_.code[jump].a = here();
  }

  void emit_repeat(const Node& n) {
    const Node& body = *n.children[0];
    if (body.kind == NodeKind::kClass) {  // single characters became classes when parsed
      Instruction inst{Op::kRepeatClass, n.flag, body.index};
      inst.min = n.min;
      inst.max = n.max;
      emit(inst);
      return;
    }
    for (std::uint32_t i = 0; i < n.min; ++i) emit_node(body);
    const bool empty_body = nullable(body);
    if (n.max == kUnbounded) {
      // loop: split(body, exit); [save]; body; [check]; jump loop
      const std::size_t loop = emit({Op::kSplit});
      const std::uint32_t reg = program_.registers;
      if (empty_body) emit({Op::kSavePosition, false, program_.registers++});
      const std::uint32_t body_start = static_cast<std::uint32_t>(loop + 1);
      emit_node(body);
      if (empty_body) emit({Op::kCheckProgress, false, reg});
      emit({Op::kJump, false, static_cast<std::uint32_t>(loop)});
      set_split(loop, body_start, here(), n.flag);
      return;
    }
    std::vector<std::size_t> splits;
    for (std::uint32_t i = n.min; i < n.max; ++i) {
      splits.push_back(emit({Op::kSplit}));
      emit_node(body);
    }
    for (std::size_t split : splits)
      set_split(split, static_cast<std::uint32_t>(split + 1), here(), n.flag);
  }

  void set_split(std::size_t split, std::uint32_t body, std::uint32_t exit, bool greedy) {
    program_.code[split].a = greedy ? body : exit;
    program_.code[split].b = greedy ? exit : body;
  }

  std::uint32_t here() const { return static_cast<std::uint32_t>(program_.code.size()); }

  Program& program_;
  std::size_t calls_ = 0;
};

}  // namespace
}  // namespace regex_detail

TokenizerRegex TokenizerRegex::compile(std::string_view pattern, std::string context) {
  using namespace regex_detail;
  auto program = std::make_unique<Program>();
  program->context = std::move(context);
  const NodePtr root = parse_regex(pattern, *program);
  Compiler compiler(*program);
  compiler.emit_node(*root);
  compiler.emit({Op::kMatch});
  std::vector<std::uint32_t> first;
  if (first_classes(*root, *program, first) && first.size() <= 8) program->first_classes = first;
  for (CharClass& cls : program->classes) cls.finalize();
  return TokenizerRegex(std::move(program));
}

}  // namespace vkmoe