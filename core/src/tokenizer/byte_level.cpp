#include "tokenizer/byte_level.hpp"

#include <array>
#include <unordered_map>

#include "tokenizer/utf8.hpp"

namespace lmrt::byte_level {
namespace {

struct Tables {
  std::array<std::string, 256> to_char;
  std::unordered_map<char32_t, unsigned char> to_byte;
  Tables() {
    // Printable Latin-1 bytes map to themselves; the rest to U+0100 onwards, in byte order.
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      utf8::append(to_char[b], cp);
      to_byte[cp] = static_cast<unsigned char>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

std::string encode(std::string_view bytes) {
  const Tables& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += t.to_char[static_cast<unsigned char>(c)];
  return out;
}

std::string decode(std::string_view chars) {
  const Tables& t = tables();
  std::string out;
  out.reserve(chars.size());
  for (std::size_t i = 0; i < chars.size();) {
    std::size_t n = utf8::sequence_length(chars.substr(i));
    if (n == 0) {
      out += chars[i++];
      continue;
    }
    const char32_t cp = utf8::decode_at(chars, i, n);
    if (auto it = t.to_byte.find(cp); it != t.to_byte.end()) out += static_cast<char>(it->second);
    else out.append(chars.data() + i, n);
    i += n;
  }
  return out;
}

}  // namespace lmrt::byte_level
