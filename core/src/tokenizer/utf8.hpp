// UTF-8 helpers shared by the tokenizers and the detokenizer.
//
// Invalid input is handled the way sentencepiece's decoder does it: every byte that does
// not start a complete, well-formed sequence (overlongs, surrogates and values above
// U+10FFFF are malformed) becomes one U+FFFD, and scanning resumes at the next byte.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lmrt::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed sequence at the start of `s` (1..4), or 0 if it is malformed
// or incomplete. Sets *incomplete when the bytes are a valid prefix cut off by the end of `s`.
std::size_t sequence_length(std::string_view s, bool* incomplete = nullptr);

// Decodes the well-formed sequence at s[pos] (which must have sequence_length > 0).
char32_t decode_at(std::string_view s, std::size_t pos, std::size_t len);

// Appends the UTF-8 encoding of `cp` to `out`.
void append(std::string& out, char32_t cp);

bool is_valid(std::string_view s);

// `s` with each invalid byte replaced by U+FFFD.
std::string sanitize(std::string_view s);

}  // namespace lmrt::utf8
