// The backtracking matcher for programs compiled by tokenizer_regex_compile.cpp.
#include "loaders/tokenizer_regex.h"

#include <optional>
#include <vector>

#include "loaders/load_error.h"
#include "loaders/tokenizer_regex_program.h"
#include "loaders/unicode.h"

namespace vkmoe {
namespace regex_detail {

bool CharClass::contains_slow(char32_t c) const {
  bool in = false;
  for (const auto& [first, last] : ranges) {
    if (c >= first && c <= last) {
      in = true;
      break;
    }
  }
  if (!in && categories != 0)
    in = (categories >> static_cast<int>(unicode::general_category(c))) & 1;
  if (!in && (white_space || not_white_space)) {
    const bool ws = unicode::is_white_space(c);
    in = (white_space && ws) || (not_white_space && !ws);
  }
  return in != negated;
}

void CharClass::finalize() {
  for (char32_t c = 0; c < 0x10000; ++c) bmp[c] = contains_slow(c);
}

namespace {

// Oniguruma gives up after 10,000,000 backtracks in one match; one search here may take
// that many steps, plus a few per input character, before the pattern is declared hostile.
constexpr std::uint64_t kStepBudget = 20'000'000;
constexpr std::uint64_t kStepsPerCharacter = 64;

enum class Frame : std::uint8_t { kBranch, kGreedyRepeat, kLazyRepeat, kRestore };

struct Backtrack {
  Frame kind;
  std::uint32_t pc;   // kBranch: target; repeats: the kRepeatClass; kRestore: register
  std::size_t pos;    // kBranch: position; repeats: current end; kRestore: old value
  std::size_t limit;  // repeats: smallest end (greedy) or largest end (lazy)
};

class Matcher {
 public:
  Matcher(const Program& program, std::u32string_view text)
      : program_(program),
        text_(text),
        registers_(program.registers, SIZE_MAX),
        budget_(kStepBudget + kStepsPerCharacter * text.size()) {}

  // Runs the program from `pc` at `pos`; on success returns true with the end in `end`.
  bool run(std::uint32_t pc, std::size_t pos, std::size_t& end) {
    const std::size_t base = stack_.size();
    for (;;) {
      if (++steps_ > budget_) {
        throw LoadError(program_.context + ": regex exceeded " + std::to_string(budget_) +
                        " backtracking steps on a " + std::to_string(text_.size()) +
                        "-character input");
      }
      const Instruction& inst = program_.code[pc];
      bool ok = true;
      switch (inst.op) {
        case Op::kChar:
          ok = pos < text_.size() && text_[pos] == inst.a;
          if (ok) ++pos, ++pc;
          break;
        case Op::kClass:
          ok = pos < text_.size() && program_.classes[inst.a].contains(text_[pos]);
          if (ok) ++pos, ++pc;
          break;
        case Op::kRepeatClass: {
          const CharClass& cls = program_.classes[inst.a];
          const std::size_t start = pos;
          if (inst.flag) {
            std::size_t n = 0;
            while (n < inst.max && pos < text_.size() && cls.contains(text_[pos])) ++pos, ++n;
            steps_ += n / 16;
            ok = n >= inst.min;
            if (ok && n > inst.min)
              stack_.push_back({Frame::kGreedyRepeat, pc, pos, start + inst.min});
          } else {
            std::size_t n = 0;
            while (n < inst.min && pos < text_.size() && cls.contains(text_[pos])) ++pos, ++n;
            ok = n >= inst.min;
            const std::size_t max_end = inst.max == kUnbounded ? SIZE_MAX : start + inst.max;
            if (ok && pos < max_end) stack_.push_back({Frame::kLazyRepeat, pc, pos, max_end});
          }
          if (ok) ++pc;
          break;
        }
        case Op::kSplit:
          stack_.push_back({Frame::kBranch, inst.b, pos, 0});
          pc = inst.a;
          break;
        case Op::kJump:
          pc = inst.a;
          break;
        case Op::kLineStart:
          ok = pos == 0 || text_[pos - 1] == '\n';
          ++pc;
          break;
        case Op::kLineEnd:
          ok = pos == text_.size() || text_[pos] == '\n';
          ++pc;
          break;
        case Op::kTextStart:
          ok = pos == 0;
          ++pc;
          break;
        case Op::kTextEnd:
          ok = pos == text_.size();
          ++pc;
          break;
        case Op::kTextEndOrNewline:
          ok = pos == text_.size() || (pos + 1 == text_.size() && text_[pos] == '\n');
          ++pc;
          break;
        case Op::kLookahead: {
          std::size_t ignored = 0;
          // Lookahead is atomic: its own backtracking frames are dropped once it is decided.
          const bool found = run(inst.a, pos, ignored);
          ok = found != inst.flag;
          pc = inst.b;
          break;
        }
        case Op::kSavePosition:
          stack_.push_back({Frame::kRestore, inst.a, registers_[inst.a], 0});
          registers_[inst.a] = pos;
          ++pc;
          break;
        case Op::kCheckProgress:
          ok = registers_[inst.a] != pos;
          ++pc;
          break;
        case Op::kMatch:
          end = pos;
          stack_.resize(base);
          return true;
      }
      if (ok) continue;
      if (!backtrack(base, pc, pos)) return false;
    }
  }

  std::uint64_t steps() const { return steps_; }

 private:
  // Pops frames above `base` until one gives an alternative; false when none is left.
  bool backtrack(std::size_t base, std::uint32_t& pc, std::size_t& pos) {
    while (stack_.size() > base) {
      Backtrack& top = stack_.back();
      switch (top.kind) {
        case Frame::kBranch:
          pc = top.pc;
          pos = top.pos;
          stack_.pop_back();
          return true;
        case Frame::kRestore:
          registers_[top.pc] = top.pos;
          stack_.pop_back();
          break;
        case Frame::kGreedyRepeat: {
          ++steps_;
          pos = --top.pos;
          pc = top.pc + 1;
          if (top.pos == top.limit) stack_.pop_back();
          return true;
        }
        case Frame::kLazyRepeat: {
          ++steps_;
          const CharClass& cls = program_.classes[program_.code[top.pc].a];
          if (top.pos < text_.size() && top.pos < top.limit && cls.contains(text_[top.pos])) {
            pos = ++top.pos;
            pc = top.pc + 1;
            if (top.pos == top.limit) stack_.pop_back();
            return true;
          }
          stack_.pop_back();
          break;
        }
      }
    }
    return false;
  }

  const Program& program_;
  std::u32string_view text_;
  std::vector<Backtrack> stack_;
  std::vector<std::size_t> registers_;
  std::uint64_t budget_;
  std::uint64_t steps_ = 0;
};

bool may_start_at(const Program& program, char32_t c) {
  for (std::uint32_t index : program.first_classes) {
    if (program.classes[index].contains(c)) return true;
  }
  return false;
}

}  // namespace
}  // namespace regex_detail

TokenizerRegex::TokenizerRegex(std::unique_ptr<regex_detail::Program> program)
    : program_(std::move(program)) {}
TokenizerRegex::TokenizerRegex(TokenizerRegex&&) noexcept = default;
TokenizerRegex& TokenizerRegex::operator=(TokenizerRegex&&) noexcept = default;
TokenizerRegex::~TokenizerRegex() = default;

std::size_t TokenizerRegex::character_class_count() const {
  return program_->classes.size();
}

namespace {

bool search_with(const regex_detail::Program& program, regex_detail::Matcher& matcher,
                 std::u32string_view text, std::size_t from, std::size_t& match_begin,
                 std::size_t& match_end) {
  const bool filtered = !program.first_classes.empty();
  for (std::size_t start = from; start <= text.size(); ++start) {
    if (filtered) {
      while (start < text.size() && !regex_detail::may_start_at(program, text[start])) ++start;
      if (start == text.size()) return false;
    }
    std::size_t end = 0;
    if (matcher.run(0, start, end)) {
      match_begin = start;
      match_end = end;
      return true;
    }
  }
  return false;
}

}  // namespace

bool TokenizerRegex::search(std::u32string_view text, std::size_t from, std::size_t& match_begin,
                            std::size_t& match_end) const {
  regex_detail::Matcher matcher(*program_, text);
  return search_with(*program_, matcher, text, from, match_begin, match_end);
}

std::vector<TokenizerRegex::Match> TokenizerRegex::find_all(std::u32string_view text) const {
  regex_detail::Matcher matcher(*program_, text);
  std::vector<Match> out;
  std::size_t from = 0;
  std::optional<std::size_t> last_end;
  while (from <= text.size()) {
    std::size_t begin = 0, end = 0;
    if (!search_with(*program_, matcher, text, from, begin, end)) break;
    if (begin == end && last_end == end) {
      from = begin + 1;
      continue;
    }
    out.push_back({begin, end});
    from = end;
    last_end = end;
  }
  return out;
}

}  // namespace vkmoe
