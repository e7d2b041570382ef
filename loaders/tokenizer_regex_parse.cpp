// Parses an Oniguruma-syntax pattern into the tree of tokenizer_regex_tree.h.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "loaders/load_error.h"
#include "loaders/tokenizer_regex_tree.h"
#include "loaders/unicode.h"

namespace vkmoe::regex_detail {
namespace {

constexpr int kMaxNesting = 64;            // groups inside groups
constexpr std::uint32_t kMaxCount = 1000;  // largest n in {n,m}

std::uint32_t category_bit(unicode::GeneralCategory g) {
  return 1u << static_cast<int>(g);
}

std::uint32_t category_span(unicode::GeneralCategory first, unicode::GeneralCategory last) {
  std::uint32_t bits = 0;
  for (int g = static_cast<int>(first); g <= static_cast<int>(last); ++g) bits |= 1u << g;
  return bits;
}

// \p{name}: general categories by short or long name, compared the way Oniguruma does
// (case, spaces, hyphens and underscores ignored).
std::optional<std::uint32_t> property_categories(std::string name) {
  using G = unicode::GeneralCategory;
  std::string key;
  for (char c : name) {
    if (c == '_' || c == ' ' || c == '-') continue;
    key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  struct Entry {
    const char* short_name;
    const char* long_name;
    G first, last;
  };
  static const Entry kEntries[] = {
      {"l", "letter", G::Lu, G::Lo},
      {"lu", "uppercaseletter", G::Lu, G::Lu},
      {"ll", "lowercaseletter", G::Ll, G::Ll},
      {"lt", "titlecaseletter", G::Lt, G::Lt},
      {"lm", "modifierletter", G::Lm, G::Lm},
      {"lo", "otherletter", G::Lo, G::Lo},
      {"m", "mark", G::Mn, G::Me},
      {"mn", "nonspacingmark", G::Mn, G::Mn},
      {"mc", "spacingmark", G::Mc, G::Mc},
      {"me", "enclosingmark", G::Me, G::Me},
      {"n", "number", G::Nd, G::No},
      {"nd", "decimalnumber", G::Nd, G::Nd},
      {"nl", "letternumber", G::Nl, G::Nl},
      {"no", "othernumber", G::No, G::No},
      {"p", "punctuation", G::Pc, G::Po},
      {"pc", "connectorpunctuation", G::Pc, G::Pc},
      {"pd", "dashpunctuation", G::Pd, G::Pd},
      {"ps", "openpunctuation", G::Ps, G::Ps},
      {"pe", "closepunctuation", G::Pe, G::Pe},
      {"pi", "initialpunctuation", G::Pi, G::Pi},
      {"pf", "finalpunctuation", G::Pf, G::Pf},
      {"po", "otherpunctuation", G::Po, G::Po},
      {"s", "symbol", G::Sm, G::So},
      {"sm", "mathsymbol", G::Sm, G::Sm},
      {"sc", "currencysymbol", G::Sc, G::Sc},
      {"sk", "modifiersymbol", G::Sk, G::Sk},
      {"so", "othersymbol", G::So, G::So},
      {"z", "separator", G::Zs, G::Zp},
      {"zs", "spaceseparator", G::Zs, G::Zs},
      {"zl", "lineseparator", G::Zl, G::Zl},
      {"zp", "paragraphseparator", G::Zp, G::Zp},
      {"cc", "control", G::Cc, G::Cc},
      {"cf", "format", G::Cf, G::Cf},
      {"cs", "surrogate", G::Cs, G::Cs},
      {"co", "privateuse", G::Co, G::Co},
      {"cn", "unassigned", G::Cn, G::Cn},
  };
  if (key == "c" || key == "other") return category_bit(G::Cn) | category_span(G::Cc, G::Co);
  for (const Entry& e : kEntries) {
    if (key == e.short_name || key == e.long_name) return category_span(e.first, e.last);
  }
  return std::nullopt;
}

class Parser {
 public:
  Parser(std::string_view pattern, Program& program) : program_(program) {
    std::size_t bad = 0;
    if (!unicode::is_valid_utf8(pattern, &bad)) {
      fail("pattern is not valid UTF-8 (byte " + std::to_string(bad) + ")");
    }
    text_ = unicode::to_code_points(pattern);
  }

  NodePtr parse() {
    if (text_.size() >= 4 && text_.substr(0, 4) == U"(?i)") {
      case_insensitive_ = true;
      pos_ = 4;
    }
    NodePtr node = parse_alternation(0);
    if (pos_ < text_.size()) fail("unmatched ')'");
    return node;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw LoadError(program_.context + ": regex offset " + std::to_string(pos_) + ": " + what);
  }
  bool at_end() const { return pos_ >= text_.size(); }
  char32_t peek(std::size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : 0;
  }
  bool eat(char32_t c) {
    if (peek() != c || at_end()) return false;
    ++pos_;
    return true;
  }

  NodePtr parse_alternation(int depth) {
    if (depth > kMaxNesting) fail("groups nested deeper than " + std::to_string(kMaxNesting));
    auto alt = make(NodeKind::kAlternation);
    alt->children.push_back(parse_concat(depth));
    while (eat('|')) alt->children.push_back(parse_concat(depth));
    if (alt->children.size() == 1) return std::move(alt->children[0]);
    return alt;
  }

  NodePtr parse_concat(int depth) {
    auto concat = make(NodeKind::kConcat);
    while (!at_end() && peek() != '|' && peek() != ')') {
      NodePtr atom = parse_atom(depth);
      concat->children.push_back(parse_quantifiers(std::move(atom)));
    }
    if (concat->children.size() == 1) return std::move(concat->children[0]);
    return concat;
  }

  // Reads {n}, {n,}, {,m}, {n,m} at pos_ (on '{'). Anything else is a literal '{' (as in
  // Oniguruma) and leaves pos_ unchanged.
  bool parse_interval(std::uint32_t& min, std::uint32_t& max) {
    std::size_t p = pos_ + 1;
    const auto number = [&](std::optional<std::uint32_t>& out) {
      std::uint64_t v = 0;
      bool any = false;
      while (p < text_.size() && text_[p] >= '0' && text_[p] <= '9') {
        v = v * 10 + (text_[p] - '0');
        if (v > kMaxCount) fail("repeat count larger than " + std::to_string(kMaxCount));
        any = true;
        ++p;
      }
      if (any) out = static_cast<std::uint32_t>(v);
    };
    std::optional<std::uint32_t> low, high;
    number(low);
    bool comma = false;
    if (p < text_.size() && text_[p] == ',') {
      comma = true;
      ++p;
      number(high);
    }
    if (p >= text_.size() || text_[p] != '}' || (!low && !high)) return false;
    min = low.value_or(0);
    max = comma ? high.value_or(kUnbounded) : min;
    if (max < min) fail("repeat range {n,m} with m < n");
    pos_ = p + 1;
    return true;
  }

  NodePtr parse_quantifiers(NodePtr atom) {
    for (;;) {
      std::uint32_t min = 0, max = 0;
      if (peek() == '*' && !at_end()) {
        min = 0, max = kUnbounded, ++pos_;
      } else if (peek() == '+' && !at_end()) {
        min = 1, max = kUnbounded, ++pos_;
      } else if (peek() == '?' && !at_end()) {
        min = 0, max = 1, ++pos_;
      } else if (peek() == '{' && !at_end() && parse_interval(min, max)) {
      } else {
        return atom;
      }
      if (atom->kind == NodeKind::kAssert || atom->kind == NodeKind::kLookahead) {
        fail("quantifier on an anchor or lookahead");
      }
      bool greedy = true;
      if (eat('?')) {
        greedy = false;
      } else if (peek() == '+' && !at_end()) {
        fail("possessive quantifiers are not supported");
      }
      if (atom->kind == NodeKind::kChar) {  // repeated bodies share one class
        CharClass cls;
        cls.ranges.emplace_back(atom->code_point, atom->code_point);
        atom = class_node(std::move(cls));
      }
      auto repeat = make(NodeKind::kRepeat);
      repeat->min = min;
      repeat->max = max;
      repeat->flag = greedy;
      repeat->children.push_back(std::move(atom));
      atom = std::move(repeat);
    }
  }

  NodePtr char_node(char32_t c) {
    const bool ascii_letter = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    if (!case_insensitive_ || c >= 0x80) {
      if (case_insensitive_ && unicode::is_letter(unicode::general_category(c))) {
        fail("case-insensitive matching of non-ASCII letters is not supported");
      }
      auto node = make(NodeKind::kChar);
      node->code_point = c;
      return node;
    }
    if (!ascii_letter) {
      auto node = make(NodeKind::kChar);
      node->code_point = c;
      return node;
    }
    CharClass cls;
    add_range_folded(cls, c, c);
    return class_node(std::move(cls));
  }

  // Adds [first, last] and, under (?i), the other case of its ASCII letters plus the two
  // non-ASCII characters that fold onto ASCII letters (U+017F long s, U+212A Kelvin sign).
  void add_range_folded(CharClass& cls, char32_t first, char32_t last) {
    cls.ranges.emplace_back(first, last);
    if (!case_insensitive_) return;
    for (const char32_t lo : {U'a', U'A'}) {
      const char32_t hi = lo + 25;
      const char32_t a = std::max(first, lo);
      const char32_t b = std::min(last, hi);
      if (a > b) continue;
      cls.ranges.emplace_back(a ^ 0x20, b ^ 0x20);
      const char32_t s = lo + (U's' - U'a'), k = lo + (U'k' - U'a');
      if (a <= s && s <= b) cls.ranges.emplace_back(0x17F, 0x17F);
      if (a <= k && k <= b) cls.ranges.emplace_back(0x212A, 0x212A);
    }
    if (last >= 0x80 && first <= 0x10FFFF) {
      for (char32_t c = std::max<char32_t>(first, 0x80); c <= last; ++c) {
        if (unicode::is_letter(unicode::general_category(c))) {
          fail("case-insensitive matching of non-ASCII letters is not supported");
        }
        if (c - first > 0x3000) break;  // wide ranges of letters were caught above or are rare
      }
    }
  }

  NodePtr class_node(CharClass cls) {
    if (program_.classes.size() >= kMaxClasses)
      fail("more than " + std::to_string(kMaxClasses) + " character classes");
    auto node = make(NodeKind::kClass);
    node->index = static_cast<std::uint32_t>(program_.classes.size());
    program_.classes.push_back(std::move(cls));
    return node;
  }

  NodePtr assert_node(Op op) {
    auto node = make(NodeKind::kAssert);
    node->assertion = op;
    return node;
  }

  std::uint32_t parse_hex(std::size_t min_digits, std::size_t max_digits) {
    std::uint32_t v = 0;
    std::size_t n = 0;
    while (n < max_digits && std::isxdigit(static_cast<int>(peek() < 0x80 ? peek() : 0)) &&
           !at_end()) {
      const char32_t c = text_[pos_++];
      v = v * 16 + static_cast<std::uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
      ++n;
    }
    if (n < min_digits) fail("bad hexadecimal escape");
    return v;
  }

  // After a backslash. Fills either `c` (a single code point) or `cls` (a class escape).
  // Anchors are handled by the caller.
  void parse_escape(char32_t& c, std::optional<CharClass>& cls) {
    if (at_end()) fail("pattern ends with a backslash");
    const char32_t e = text_[pos_++];
    using G = unicode::GeneralCategory;
    switch (e) {
      case 't':
        c = '\t';
        return;
      case 'n':
        c = '\n';
        return;
      case 'r':
        c = '\r';
        return;
      case 'f':
        c = '\f';
        return;
      case 'v':
        c = '\v';
        return;
      case 'a':
        c = 0x07;
        return;
      case 'e':
        c = 0x1B;
        return;
      case '0':
        c = 0;
        return;
      case 'x':
        if (eat('{')) {
          c = parse_hex(1, 8);
          if (!eat('}')) fail("unterminated \\x{...}");
        } else {
          c = parse_hex(1, 2);
        }
        if (c > unicode::kMaxCodePoint) fail("code point beyond U+10FFFF");
        return;
      case 'u':
        c = parse_hex(4, 4);
        return;
      case 's':
      case 'S':
        cls.emplace();
        (e == 's' ? cls->white_space : cls->not_white_space) = true;
        return;
      case 'd':
      case 'D': {
        cls.emplace();
        const std::uint32_t nd = category_bit(G::Nd);
        cls->categories = e == 'd' ? nd : ~nd & ((1u << unicode::kGeneralCategoryCount) - 1);
        return;
      }
      case 'p':
      case 'P': {
        if (!eat('{')) fail("\\p without {name}");
        bool negate = e == 'P';
        if (eat('^')) negate = !negate;
        std::string name;
        while (!at_end() && peek() != '}' && name.size() < 64)
          name.push_back(static_cast<char>(text_[pos_++] & 0x7F));
        if (!eat('}')) fail("unterminated \\p{...}");
        const std::optional<std::uint32_t> bits = property_categories(name);
        if (!bits) fail("unsupported property \\p{" + name + "} (only general categories)");
        if (case_insensitive_ &&
            (*bits & (category_bit(G::Lu) | category_bit(G::Ll) | category_bit(G::Lt))) &&
            (*bits & category_span(G::Lu, G::Lt)) != category_span(G::Lu, G::Lt)) {
          fail("case-sensitive letter categories inside (?i) are not supported");
        }
        cls.emplace();
        cls->categories = negate ? ~*bits & ((1u << unicode::kGeneralCategoryCount) - 1) : *bits;
        return;
      }
      default:
        break;
    }
    if (e < 0x80 && (std::isalnum(static_cast<int>(e)))) {
      fail(std::string("unsupported escape \\") + static_cast<char>(e));
    }
    c = e;  // escaped punctuation, or any non-ASCII character, stands for itself
  }

  void parse_class_into(CharClass& cls, int depth) {
    if (depth > kMaxNesting) fail("classes nested deeper than " + std::to_string(kMaxNesting));
    bool first = true;
    for (;;) {
      if (at_end()) fail("unterminated character class");
      const char32_t c = text_[pos_];
      if (c == ']' && !first) {
        ++pos_;
        return;
      }
      first = false;
      if (c == '[') {
        if (peek(1) == ':') fail("POSIX bracket expressions are not supported");
        ++pos_;
        if (peek() == '^') fail("negated nested classes are not supported");
        CharClass nested;
        parse_class_into(nested, depth + 1);
        merge(cls, nested);
        continue;
      }
      if (c == '&' && peek(1) == '&') fail("class intersection (&&) is not supported");
      char32_t low = 0;
      if (!class_atom(low, cls)) continue;
      if (peek() == '-' && peek(1) != ']' && pos_ + 1 < text_.size()) {
        ++pos_;
        char32_t high = 0;
        CharClass ignored;
        if (text_[pos_] == '[' || !class_atom(high, ignored))
          fail("class range with a set as its end");
        if (high < low) fail("class range out of order");
        add_range_folded(cls, low, high);
      } else {
        add_range_folded(cls, low, low);
      }
    }
  }

  // One class member: returns true with a code point, or false after merging a class escape.
  bool class_atom(char32_t& c, CharClass& cls) {
    c = text_[pos_++];
    if (c != '\\') return true;
    std::optional<CharClass> escaped;
    parse_escape(c, escaped);
    if (!escaped) return true;
    merge(cls, *escaped);
    return false;
  }

  static void merge(CharClass& into, const CharClass& from) {
    into.ranges.insert(into.ranges.end(), from.ranges.begin(), from.ranges.end());
    into.categories |= from.categories;
    into.white_space |= from.white_space;
    into.not_white_space |= from.not_white_space;
  }

  NodePtr parse_group(int depth) {
    // pos_ is after '('.
    if (eat('?')) {
      if (eat(':')) return finish_group(parse_alternation(depth + 1));
      if (eat('=') || (peek() == '!' && eat('!'))) {
        const bool negate = text_[pos_ - 1] == '!';
        auto look = make(NodeKind::kLookahead);
        look->flag = negate;
        look->children.push_back(parse_alternation(depth + 1));
        return finish_group(std::move(look));
      }
      if (peek() == 'i' && peek(1) == ':') {
        pos_ += 2;
        const bool saved = case_insensitive_;
        case_insensitive_ = true;
        NodePtr inner = parse_alternation(depth + 1);
        case_insensitive_ = saved;
        return finish_group(std::move(inner));
      }
      if (peek() == '-' && peek(1) == 'i' && peek(2) == ':') {
        pos_ += 3;
        const bool saved = case_insensitive_;
        case_insensitive_ = false;
        NodePtr inner = parse_alternation(depth + 1);
        case_insensitive_ = saved;
        return finish_group(std::move(inner));
      }
      if (peek() == '<' && peek(1) != '=' && peek(1) != '!') {
        while (!at_end() && peek() != '>') ++pos_;
        if (!eat('>')) fail("unterminated group name");
        return finish_group(parse_alternation(depth + 1));
      }
      if (peek() == '<') fail("lookbehind is not supported");
      if (peek() == '>') fail("atomic groups are not supported");
      fail("unsupported group syntax (?" + std::string(1, static_cast<char>(peek() & 0x7F)));
    }
    return finish_group(parse_alternation(depth + 1));
  }

  NodePtr finish_group(NodePtr inner) {
    if (!eat(')')) fail("missing ')'");
    return inner;
  }

  NodePtr parse_atom(int depth) {
    const char32_t c = text_[pos_++];
    switch (c) {
      case '(':
        return parse_group(depth);
      case '[': {
        CharClass cls;
        if (eat('^')) cls.negated = true;
        parse_class_into(cls, 0);
        return class_node(std::move(cls));
      }
      case '.': {
        CharClass cls;
        cls.negated = true;
        cls.ranges.emplace_back('\n', '\n');
        return class_node(std::move(cls));
      }
      case '^':
        return assert_node(Op::kLineStart);
      case '$':
        return assert_node(Op::kLineEnd);
      case '*':
      case '+':
      case '?':
        --pos_;
        fail("quantifier without a target");
      case '\\': {
        const char32_t e = peek();
        if (e == 'A') return ++pos_, assert_node(Op::kTextStart);
        if (e == 'z') return ++pos_, assert_node(Op::kTextEnd);
        if (e == 'Z') return ++pos_, assert_node(Op::kTextEndOrNewline);
        char32_t literal = 0;
        std::optional<CharClass> cls;
        parse_escape(literal, cls);
        if (cls) return class_node(std::move(*cls));
        return char_node(literal);
      }
      default:
        return char_node(c);
    }
  }

  std::u32string text_;
  std::size_t pos_ = 0;
  bool case_insensitive_ = false;
  Program& program_;
};
}  // namespace

NodePtr parse_regex(std::string_view pattern, Program& program) {
  Parser parser(pattern, program);
  return parser.parse();
}

}  // namespace vkmoe::regex_detail
