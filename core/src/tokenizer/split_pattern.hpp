// The pre-tokenizer split regexes of GPT-2, Qwen2 and Llama 3, implemented as a hand-written
// scanner (std::regex has no \p{L}/\p{N}; the project does not depend on ICU). Each pattern
// is an alternation tried left to right at every position, with greedy quantifiers, so the
// scanner reproduces the regex matches exactly for these three patterns.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace lmrt {

enum class SplitPattern {
  Gpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  Qwen2,   // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Llama3,  // the same as Qwen2 with \p{N}{1,3}
};

// Which known pattern `regex` is (the text of a tokenizer.json Split pattern), if any.
std::optional<SplitPattern> recognize_split_pattern(std::string_view regex);

// Appends the matches of `pattern` in `text` (valid UTF-8) to `out`, in order. The matches
// cover the text completely.
void split_by_pattern(std::string_view text, SplitPattern pattern, std::vector<std::string_view>& out);

}  // namespace lmrt
