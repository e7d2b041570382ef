#include "loaders/unicode.h"

#include <algorithm>
#include <array>

#include "loaders/unicode_tables.h"

namespace vkmoe::unicode {
namespace tables = vkmoe::unicode_tables;

namespace {

// Finds the run holding `c` in a table of (start << shift | value) entries sorted by start.
std::uint32_t run_value(const std::uint32_t* runs, std::size_t size, int shift, char32_t c) {
  const std::uint32_t key = (static_cast<std::uint32_t>(c) << shift) | ((1u << shift) - 1);
  const std::uint32_t* it = std::upper_bound(runs, runs + size, key);
  if (it == runs) return 0;
  return *(it - 1) & ((1u << shift) - 1);
}

// The Basic Multilingual Plane covers nearly all text a tokenizer sees; a 64 KiB table built
// once turns its category lookups into one load.
const std::array<std::uint8_t, 0x10000>& bmp_categories() {
  static const std::array<std::uint8_t, 0x10000> table = [] {
    std::array<std::uint8_t, 0x10000> t{};
    for (std::size_t i = 0; i < tables::kCategoryRunsSize; ++i) {
      const std::uint32_t start = tables::kCategoryRuns[i] >> 5;
      if (start >= 0x10000) break;
      const std::uint32_t end =
          i + 1 < tables::kCategoryRunsSize
              ? std::min<std::uint32_t>(tables::kCategoryRuns[i + 1] >> 5, 0x10000)
              : 0x10000;
      std::fill(t.begin() + start, t.begin() + end,
                static_cast<std::uint8_t>(tables::kCategoryRuns[i] & 31));
    }
    return t;
  }();
  return table;
}

// Combining classes of the BMP, for the same reason: NFC asks for one per character.
const std::array<std::uint8_t, 0x10000>& bmp_combining_classes() {
  static const std::array<std::uint8_t, 0x10000> table = [] {
    std::array<std::uint8_t, 0x10000> t{};
    for (char32_t c = 0x300; c < 0x10000; ++c) {
      t[c] = static_cast<std::uint8_t>(
          run_value(tables::kCombiningClassRuns, tables::kCombiningClassRunsSize, 8, c));
    }
    return t;
  }();
  return table;
}

}  // namespace

const char* tables_version() {
  return tables::kUnicodeVersion;
}

GeneralCategory general_category(char32_t c) {
  if (c < 0x10000) return static_cast<GeneralCategory>(bmp_categories()[c]);
  if (c > kMaxCodePoint) return GeneralCategory::Cn;
  return static_cast<GeneralCategory>(
      run_value(tables::kCategoryRuns, tables::kCategoryRunsSize, 5, c));
}

bool is_white_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  for (std::size_t i = 0; i < tables::kWhiteSpaceSize; ++i) {
    if (c >= tables::kWhiteSpace[i].first && c <= tables::kWhiteSpace[i].last) return true;
  }
  return false;
}

std::uint8_t combining_class(char32_t c) {
  if (c < 0x300 || c > kMaxCodePoint) return 0;
  if (c < 0x10000) return bmp_combining_classes()[c];
  return static_cast<std::uint8_t>(
      run_value(tables::kCombiningClassRuns, tables::kCombiningClassRunsSize, 8, c));
}

std::size_t decode_utf8(std::string_view text, std::size_t pos, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    code_point = b0;
    return 1;
  }
  // Table 3-7 of the Unicode standard: the lead byte fixes the length and the range of the
  // second byte (which rules out overlong forms, surrogates and values past U+10FFFF).
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3;
    if (b0 == 0xE0) low = 0xA0;
    if (b0 == 0xED) high = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4;
    if (b0 == 0xF0) low = 0x90;
    if (b0 == 0xF4) high = 0x8F;
  } else {
    code_point = kReplacementCharacter;
    return 1;
  }
  char32_t c = b0 & (0x7F >> length);
  for (std::size_t i = 1; i < length; ++i) {
    // A bad or missing continuation ends a maximal subpart: one U+FFFD for all of it.
    if (pos + i >= text.size() || byte(pos + i) < low || byte(pos + i) > high) {
      code_point = kReplacementCharacter;
      return i;
    }
    c = (c << 6) | (byte(pos + i) & 0x3F);
    low = 0x80, high = 0xBF;
  }
  code_point = c;
  return length;
}

bool is_valid_utf8(std::string_view text, std::size_t* error_offset) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    char32_t c = 0;
    const std::size_t n = decode_utf8(text, pos, c);
    // A genuine U+FFFD is three bytes EF BF BD; anything else that decodes to it is an error.
    if (c == kReplacementCharacter && (n != 3 || text[pos] != '\xEF')) {
      if (error_offset) *error_offset = pos;
      return false;
    }
    pos += n;
  }
  return true;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::u32string to_code_points(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    char32_t c = 0;
    pos += decode_utf8(text, pos, c);
    out.push_back(c);
  }
  return out;
}

std::string to_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t c : code_points) append_utf8(out, c);
  return out;
}

}  // namespace vkmoe::unicode
