// Incremental detokenization for streaming: push generated ids one at a time and get back
// only the text they complete.
//
// Guarantees: every returned piece is valid UTF-8 (an incomplete multi-byte sequence, e.g.
// from byte-fallback tokens, is held back until it completes; a byte that can no longer
// complete becomes U+FFFD), and the concatenation of all pieces plus finish() equals
// Tokenizer::decode of the whole sequence when the detokenizer starts at_start.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "lmrt/core/tokenizer.hpp"

namespace lmrt {

class IncrementalDetokenizer {
 public:
  struct Options {
    bool skip_special_tokens = true;
    // true: the ids start a text (sentencepiece drops the first token's leading space, as
    // decode() does). false (default): they continue a prompt, so "▁Hello" -> " Hello".
    bool at_start = false;
  };

  // `tokenizer` must outlive the detokenizer.
  explicit IncrementalDetokenizer(const Tokenizer& tokenizer);
  IncrementalDetokenizer(const Tokenizer& tokenizer, Options options);

  // Adds one id; returns the newly complete text (possibly empty). Throws INVALID_ARGUMENT
  // for an out-of-range id (the state is unchanged).
  std::string push(int32_t id);
  std::string push(std::span<const int32_t> ids);
  // Ends the stream: held-back bytes come out as U+FFFD each. The detokenizer can go on.
  std::string finish();

  // Bytes held back waiting for the rest of a UTF-8 sequence (0..3).
  std::size_t pending_bytes() const { return pending_.size(); }

 private:
  std::string drain(bool final);

  const Tokenizer& tokenizer_;
  Options options_;
  bool at_start_;
  std::string pending_;
};

}  // namespace lmrt
