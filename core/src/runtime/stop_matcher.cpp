#include "lmrt/core/stop_matcher.hpp"

#include <algorithm>

namespace lmrt {

StopMatcher::StopMatcher(std::vector<std::string> stop_words) {
  for (auto& w : stop_words)
    if (!w.empty()) words_.push_back(std::move(w));
  for (const auto& w : words_) max_len_ = std::max(max_len_, w.size());
}

StopMatcher::Result StopMatcher::push(std::string_view chunk) {
  Result r;
  held_.append(chunk);
  if (words_.empty()) {
    r.emit.swap(held_);
    return r;
  }
  // Earliest complete occurrence of any stop word.
  size_t first = std::string::npos;
  for (const auto& w : words_) first = std::min(first, held_.find(w));
  if (first != std::string::npos) {
    r.emit = held_.substr(0, first);
    r.stopped = true;
    held_.clear();
    return r;
  }
  // Hold back the longest suffix that is a proper prefix of some stop word.
  size_t keep = 0;
  for (const auto& w : words_) {
    for (size_t n = std::min(w.size() - 1, held_.size()); n > keep; --n) {
      if (held_.compare(held_.size() - n, n, w, 0, n) == 0) {
        keep = n;
        break;
      }
    }
  }
  r.emit = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return r;
}

std::string StopMatcher::flush() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace lmrt
