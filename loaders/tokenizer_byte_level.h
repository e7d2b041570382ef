// GPT-2's reversible map from bytes to printable code points ("bytes to unicode"): byte-level
// BPE vocabularies spell every token with these characters, e.g. a space is "Ġ" (U+0120).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vkmoe::byte_level {

// The code point that stands for byte `b` in vocabularies.
char32_t char_for_byte(std::uint8_t b);

// The byte that `c` stands for, or -1 when `c` is not one of the 256 mapped characters.
int byte_for_char(char32_t c);

// Raw bytes -> their mapped spelling (UTF-8), as vocabularies write tokens.
std::string spell(std::string_view bytes);

// A vocabulary spelling -> the raw bytes, or false when some character is not a mapped one
// (the ByteLevel decoder then keeps the token's UTF-8 as it is).
bool unspell(std::string_view spelled, std::string& bytes);

}  // namespace vkmoe::byte_level
