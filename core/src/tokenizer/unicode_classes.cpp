#include <algorithm>

#include "tokenizer/unicode_tables.hpp"

namespace lmrt::unicode {
namespace {

bool in_ranges(const CodeRange* ranges, std::size_t n, char32_t cp) {
  const CodeRange* end = ranges + n;
  // First range whose last >= cp; cp is in the table if that range starts at or before it.
  const CodeRange* it = std::lower_bound(ranges, end, cp, [](const CodeRange& r, char32_t c) { return r.last < c; });
  return it != end && it->first <= cp;
}

}  // namespace

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, kLetterRanges_size, cp);
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, kNumberRanges_size, cp);
}

bool is_whitespace(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return in_ranges(kWhiteSpaceRanges, kWhiteSpaceRanges_size, cp);
}

}  // namespace lmrt::unicode
