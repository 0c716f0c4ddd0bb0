#include "sse_parser.hpp"

namespace lmrt::api_client {

void SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      line(pending_);
      pending_.clear();
    } else {
      pending_.push_back(c);
    }
  }
}

void SseParser::finish() {
  if (!pending_.empty()) line(pending_);
  pending_.clear();
  line("");
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    if (has_data_) on_data_(data_);
    data_.clear();
    has_data_ = false;
    return;
  }
  if (text.substr(0, 5) != "data:") return;  // comments, event:, id:, retry:
  text.remove_prefix(5);
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (has_data_) data_.push_back('\n');
  data_.append(text);
  has_data_ = true;
}

}  // namespace lmrt::api_client
