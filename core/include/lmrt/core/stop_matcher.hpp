// Stop words over a stream of text that arrives in arbitrary chunks: a stop word
// split across two chunks is still found, and text that might be the start of a
// stop word is held back until it is known not to be.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lmrt {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stop_words);

  struct Result {
    std::string emit;     // text that is safe to show now
    bool stopped = false; // a stop word was found; `emit` ends just before it
  };
  // Feeds the next chunk of generated text.
  Result push(std::string_view chunk);
  // The text held back at the end of generation (no stop word came).
  std::string flush();

 private:
  std::vector<std::string> words_;
  std::string held_;
  size_t max_len_ = 0;
};

}  // namespace lmrt
