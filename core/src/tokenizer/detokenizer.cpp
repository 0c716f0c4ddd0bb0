#include "lmrt/core/detokenizer.hpp"

#include "tokenizer/utf8.hpp"

namespace lmrt {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer)
    : IncrementalDetokenizer(tokenizer, Options{}) {}

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, Options options)
    : tokenizer_(tokenizer), options_(options), at_start_(options.at_start) {}

std::string IncrementalDetokenizer::push(int32_t id) {
  tokenizer_.check_id(id);
  const bool special = tokenizer_.is_special(id);
  if (special && options_.skip_special_tokens) return {};
  std::string b = tokenizer_.token_bytes(id);
  if (b.empty()) return {};
  // The same leading-space rule as Tokenizer::decode, so that the pieces add up to it.
  if (at_start_ && !special && b[0] == ' ' && tokenizer_.strips_leading_space()) b.erase(0, 1);
  at_start_ = false;
  pending_ += b;
  return drain(false);
}

std::string IncrementalDetokenizer::push(std::span<const int32_t> ids) {
  for (int32_t id : ids) tokenizer_.check_id(id);
  std::string out;
  for (int32_t id : ids) out += push(id);
  return out;
}

std::string IncrementalDetokenizer::finish() { return drain(true); }

// Emits the longest prefix of pending_ that is final: complete sequences, and U+FFFD for
// bytes that cannot start one. Keeps a trailing incomplete sequence unless `final`.
std::string IncrementalDetokenizer::drain(bool final) {
  std::string out;
  std::size_t i = 0;
  const std::string_view p = pending_;
  while (i < p.size()) {
    bool incomplete = false;
    const std::size_t n = utf8::sequence_length(p.substr(i), &incomplete);
    if (n > 0) {
      out.append(p.data() + i, n);
      i += n;
    } else if (incomplete && !final) {
      break;
    } else {
      out += utf8::kReplacement;
      ++i;
    }
  }
  pending_.erase(0, i);
  return out;
}

}  // namespace lmrt
