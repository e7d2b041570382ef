// Code points: UTF-8 decoding and encoding, general categories and White_Space, from the tables
// that tools/gen_unicode_tables.py generates (loaders/unicode_tables.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkmoe::unicode {

// Order matches CATEGORIES in tools/gen_unicode_tables.py. Cn (unassigned) is 0.
enum class GeneralCategory : std::uint8_t {
  Cn,
  Lu,
  Ll,
  Lt,
  Lm,
  Lo,
  Mn,
  Mc,
  Me,
  Nd,
  Nl,
  No,
  Pc,
  Pd,
  Ps,
  Pe,
  Pi,
  Pf,
  Po,
  Sm,
  Sc,
  Sk,
  So,
  Zs,
  Zl,
  Zp,
  Cc,
  Cf,
  Cs,
  Co,
};
inline constexpr int kGeneralCategoryCount = 30;
inline constexpr char32_t kReplacementCharacter = 0xFFFD;
inline constexpr char32_t kMaxCodePoint = 0x10FFFF;

// The Unicode version the tables were generated from ("15.0.0").
const char* tables_version();

GeneralCategory general_category(char32_t c);
bool is_white_space(char32_t c);  // the White_Space property, what \s means in Oniguruma
std::uint8_t combining_class(char32_t c);

// Major classes as regexes write them: \p{L}, \p{M}, \p{N}, \p{P}, \p{S}, \p{Z}, \p{C}.
inline bool is_letter(GeneralCategory g) {
  return g >= GeneralCategory::Lu && g <= GeneralCategory::Lo;
}
inline bool is_mark(GeneralCategory g) {
  return g >= GeneralCategory::Mn && g <= GeneralCategory::Me;
}
inline bool is_number(GeneralCategory g) {
  return g >= GeneralCategory::Nd && g <= GeneralCategory::No;
}
inline bool is_punctuation(GeneralCategory g) {
  return g >= GeneralCategory::Pc && g <= GeneralCategory::Po;
}
inline bool is_symbol(GeneralCategory g) {
  return g >= GeneralCategory::Sm && g <= GeneralCategory::So;
}
inline bool is_separator(GeneralCategory g) {
  return g >= GeneralCategory::Zs && g <= GeneralCategory::Zp;
}
inline bool is_other(GeneralCategory g) {
  return g == GeneralCategory::Cn || g >= GeneralCategory::Cc;
}

// Decodes one code point at `pos`. Returns the number of bytes consumed (1..4). A malformed,
// truncated, overlong or surrogate sequence yields one U+FFFD per maximal subpart, as Rust's
// String::from_utf8_lossy and the WHATWG TextDecoder do.
std::size_t decode_utf8(std::string_view text, std::size_t pos, char32_t& code_point);

// True when `text` is well-formed UTF-8; `error_offset` gets the first bad byte otherwise.
bool is_valid_utf8(std::string_view text, std::size_t* error_offset = nullptr);

void append_utf8(std::string& out, char32_t code_point);

// Decodes a whole string (lossy, see decode_utf8) into code points.
std::u32string to_code_points(std::string_view text);
std::string to_utf8(std::u32string_view code_points);

}  // namespace vkmoe::unicode
