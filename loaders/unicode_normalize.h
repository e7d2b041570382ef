// Unicode Normalization Form C (canonical decomposition, canonical ordering, canonical
// composition), the `NFC` normalizer of tokenizer.json. Hangul syllables are composed and
// decomposed algorithmically; everything else comes from loaders/unicode_tables.cpp.
#pragma once

#include <string>
#include <string_view>

namespace vkmoe::unicode {

// NFC of UTF-8 text. Malformed bytes become U+FFFD first (see decode_utf8). Text that passes
// the NFC quick check (nearly all text) is returned unchanged without being decomposed.
std::string nfc(std::string_view text);
std::u32string nfc(std::u32string_view code_points);

// NFD, exposed for tests.
std::u32string nfd(std::u32string_view code_points);

}  // namespace vkmoe::unicode
