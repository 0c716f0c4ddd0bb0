#include "tokenizer/split_pattern.hpp"

#include "tokenizer/unicode_tables.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt {
namespace {

constexpr std::string_view kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

class Scanner {
 public:
  Scanner(std::string_view text, SplitPattern pattern) : pattern_(pattern) {
    for (std::size_t i = 0; i < text.size();) {
      std::size_t n = utf8::sequence_length(text.substr(i));
      if (n == 0) n = 1;  // callers pass valid UTF-8; stay safe anyway
      cps_.push_back(n == 1 ? static_cast<unsigned char>(text[i]) : utf8::decode_at(text, i, n));
      offsets_.push_back(i);
      i += n;
    }
    offsets_.push_back(text.size());
  }

  std::size_t size() const { return cps_.size(); }
  std::size_t offset(std::size_t i) const { return offsets_[i]; }

  // End (in code points) of the match starting at i.
  std::size_t match(std::size_t i) const {
    return pattern_ == SplitPattern::Gpt2 ? match_gpt2(i) : match_qwen_llama(i);
  }

 private:
  char32_t at(std::size_t i) const { return i < cps_.size() ? cps_[i] : 0; }
  bool letter(std::size_t i) const { return i < cps_.size() && unicode::is_letter(cps_[i]); }
  bool number(std::size_t i) const { return i < cps_.size() && unicode::is_number(cps_[i]); }
  bool space(std::size_t i) const { return i < cps_.size() && unicode::is_whitespace(cps_[i]); }
  bool newline(std::size_t i) const { return i < cps_.size() && (cps_[i] == '\r' || cps_[i] == '\n'); }
  // [^\s\p{L}\p{N}]
  bool other(std::size_t i) const { return i < cps_.size() && !space(i) && !letter(i) && !number(i); }
  std::size_t run(std::size_t i, bool (Scanner::*pred)(std::size_t) const) const {
    while ((this->*pred)(i)) ++i;
    return i;
  }

  // 's 't 're 've 'm 'll 'd at i; returns the end or 0.
  std::size_t contraction(std::size_t i, bool ignore_case) const {
    if (at(i) != '\'') return 0;
    auto lower = [&](std::size_t k) -> char32_t {
      const char32_t c = at(k);
      return ignore_case && c >= 'A' && c <= 'Z' ? c + 32 : c;
    };
    const char32_t a = lower(i + 1), b = lower(i + 2);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    return 0;
  }

  // \s*[\r\n]+ , \s+(?!\S) , \s+  at a whitespace position i.
  std::size_t whitespace(std::size_t i, bool newline_alternative) const {
    const std::size_t end = run(i, &Scanner::space);
    if (newline_alternative) {
      // \s* backtracks to the last newline of the run; [\r\n]+ takes it.
      for (std::size_t k = end; k > i; --k) {
        if (newline(k - 1)) return k;
      }
    }
    if (end == cps_.size()) return end;  // \s+(?!\S) at the end of the text
    if (end - i >= 2) return end - 1;    // leave one space to lead the next word
    return end;                          // \s+
  }

  std::size_t match_qwen_llama(std::size_t i) const {
    if (std::size_t e = contraction(i, true)) return e;
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!letter(i) && !number(i) && !newline(i) && letter(i + 1)) return run(i + 1, &Scanner::letter);
    if (letter(i)) return run(i, &Scanner::letter);
    if (number(i)) {
      const std::size_t max = pattern_ == SplitPattern::Llama3 ? 3 : 1;
      std::size_t e = i + 1;
      while (e - i < max && number(e)) ++e;
      return e;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    std::size_t j = (at(i) == ' ' && other(i + 1)) ? i + 1 : i;
    if (other(j)) return run(run(j, &Scanner::other), &Scanner::newline);
    if (space(i)) return whitespace(i, true);
    return i + 1;  // unreachable: every character is a letter, number, space or other
  }

  std::size_t match_gpt2(std::size_t i) const {
    if (std::size_t e = contraction(i, false)) return e;
    const std::size_t j = at(i) == ' ' ? i + 1 : i;
    if (letter(j)) return run(j, &Scanner::letter);
    if (number(j)) return run(j, &Scanner::number);
    if (other(j)) return run(j, &Scanner::other);
    if (space(i)) return whitespace(i, false);
    return i + 1;
  }

  SplitPattern pattern_;
  std::vector<char32_t> cps_;
  std::vector<std::size_t> offsets_;
};

}  // namespace

std::optional<SplitPattern> recognize_split_pattern(std::string_view regex) {
  if (regex == kGpt2) return SplitPattern::Gpt2;
  if (regex == kQwen2) return SplitPattern::Qwen2;
  if (regex == kLlama3) return SplitPattern::Llama3;
  return std::nullopt;
}

void split_by_pattern(std::string_view text, SplitPattern pattern, std::vector<std::string_view>& out) {
  const Scanner s(text, pattern);
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t e = s.match(i);
    out.push_back(text.substr(s.offset(i), s.offset(e) - s.offset(i)));
    i = e;
  }
}

}  // namespace lmrt
