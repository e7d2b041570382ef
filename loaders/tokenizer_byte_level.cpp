#include "loaders/tokenizer_byte_level.h"

#include <array>

#include "loaders/unicode.h"

namespace vkmoe::byte_level {
namespace {

struct Tables {
  std::array<char32_t, 256> char_for_byte{};
  std::array<std::int16_t, 512> byte_for_char{};  // mapped characters are all below U+0144
};

// Printable Latin-1 bytes map to themselves; the other 68 bytes map, in order, to U+0100 on.
const Tables& tables() {
  static const Tables t = [] {
    Tables out;
    out.byte_for_char.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t c = printable ? static_cast<char32_t>(b) : next++;
      out.char_for_byte[b] = c;
      out.byte_for_char[c] = static_cast<std::int16_t>(b);
    }
    return out;
  }();
  return t;
}

}  // namespace

char32_t char_for_byte(std::uint8_t b) {
  return tables().char_for_byte[b];
}

int byte_for_char(char32_t c) {
  return c < 512 ? tables().byte_for_char[c] : -1;
}

std::string spell(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) unicode::append_utf8(out, char_for_byte(static_cast<std::uint8_t>(b)));
  return out;
}

bool unspell(std::string_view spelled, std::string& bytes) {
  const std::size_t start = bytes.size();
  for (std::size_t pos = 0; pos < spelled.size();) {
    char32_t c = 0;
    pos += unicode::decode_utf8(spelled, pos, c);
    const int b = byte_for_char(c);
    if (b < 0) {
      bytes.resize(start);
      return false;
    }
    bytes.push_back(static_cast<char>(b));
  }
  return true;
}

}  // namespace vkmoe::byte_level
