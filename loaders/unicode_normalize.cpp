#include "loaders/unicode_normalize.h"

#include <algorithm>

#include "loaders/unicode.h"
#include "loaders/unicode_tables.h"

namespace vkmoe::unicode {
namespace tables = vkmoe::unicode_tables;

namespace {

// Hangul syllable arithmetic (Unicode chapter 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

enum class QuickCheck { kYes, kNo, kMaybe };

QuickCheck nfc_quick_check(char32_t c) {
  if (c < 0x300) return QuickCheck::kYes;
  const auto* begin = tables::kNfcQuickCheck;
  const auto* end = begin + tables::kNfcQuickCheckSize;
  const auto* it = std::upper_bound(
      begin, end, c, [](char32_t v, const tables::QuickCheckRange& r) { return v < r.first; });
  if (it == begin || c > (it - 1)->last) return QuickCheck::kYes;
  return (it - 1)->value == 1 ? QuickCheck::kNo : QuickCheck::kMaybe;
}

// The quick check of UAX #15: "yes" means the text is already NFC.
bool is_nfc_quick(std::u32string_view text) {
  std::uint8_t last_class = 0;
  for (char32_t c : text) {
    if (c < 0x300) {
      last_class = 0;
      continue;
    }
    const std::uint8_t cc = combining_class(c);
    if (cc != 0 && last_class > cc) return false;
    if (nfc_quick_check(c) != QuickCheck::kYes) return false;
    last_class = cc;
  }
  return true;
}

const tables::Decomposition* find_decomposition(char32_t c) {
  const auto* begin = tables::kCanonicalDecompositions;
  const auto* end = begin + tables::kCanonicalDecompositionsSize;
  const auto* it = std::lower_bound(
      begin, end, c, [](const tables::Decomposition& d, char32_t v) { return d.code_point < v; });
  return it != end && it->code_point == c ? it : nullptr;
}

void decompose(char32_t c, std::u32string& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const tables::Decomposition* d = c < 0xC0 ? nullptr : find_decomposition(c);
  if (d == nullptr) {
    out.push_back(c);
    return;
  }
  // Canonical mappings nest only a few levels deep (the tables are finite and acyclic).
  decompose(d->first, out);
  if (d->second != 0) decompose(d->second, out);
}

// Primary composite of (first, second), or 0.
char32_t compose_pair(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase &&
      second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 &&
      second > kTBase && second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const auto* begin = tables::kCanonicalCompositions;
  const auto* end = begin + tables::kCanonicalCompositionsSize;
  const auto* it =
      std::lower_bound(begin, end, std::pair{first, second},
                       [](const tables::Composition& c, std::pair<char32_t, char32_t> v) {
                         return c.first != v.first ? c.first < v.first : c.second < v.second;
                       });
  return it != end && it->first == first && it->second == second ? it->composite : 0;
}

// Canonical ordering: a stable sort of every run of non-starters by combining class.
void reorder(std::u32string& text) {
  std::size_t i = 0;
  while (i < text.size()) {
    if (combining_class(text[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && combining_class(text[j]) != 0) ++j;
    std::stable_sort(text.begin() + static_cast<std::ptrdiff_t>(i),
                     text.begin() + static_cast<std::ptrdiff_t>(j), [](char32_t a, char32_t b) {
                       return combining_class(a) < combining_class(b);
                     });
    i = j;
  }
}

// Canonical composition (UAX #15): a character combines with the last starter unless a
// character between them blocks it (class 0, or class >= its own).
void compose(std::u32string& text) {
  if (text.empty()) return;
  std::size_t starter = 0;
  int last_class = combining_class(text[0]) == 0 ? 0 : 256;
  std::size_t out = 1;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const char32_t c = text[i];
    const int cc = combining_class(c);
    const char32_t composite =
        last_class < cc || last_class == 0 ? compose_pair(text[starter], c) : 0;
    if (composite != 0 && (last_class < cc || last_class == 0)) {
      text[starter] = composite;
      continue;
    }
    if (cc == 0) starter = out;
    last_class = cc;
    text[out++] = c;
  }
  text.resize(out);
}

}  // namespace

std::u32string nfd(std::u32string_view code_points) {
  std::u32string out;
  out.reserve(code_points.size() + code_points.size() / 4);
  for (char32_t c : code_points) decompose(c, out);
  reorder(out);
  return out;
}

std::u32string nfc(std::u32string_view code_points) {
  if (is_nfc_quick(code_points)) return std::u32string(code_points);
  std::u32string out = nfd(code_points);
  compose(out);
  return out;
}

std::string nfc(std::string_view text) {
  bool ascii = true;
  for (char ch : text) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(text);
  const std::u32string code_points = to_code_points(text);
  if (is_nfc_quick(code_points)) return to_utf8(code_points);
  return to_utf8(nfc(code_points));
}

}  // namespace vkmoe::unicode
