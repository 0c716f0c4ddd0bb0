// Server-sent events, parsed incrementally as bytes arrive: lines end with \n,
// \r\n or \r; "data:" fields are joined with \n; an empty line ends an event;
// ":" lines are comments (keep-alives). The OpenAI stream needs only data.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace lmrt::api_client {

class SseParser {
 public:
  // on_data gets each event's data ("{...}" or "[DONE]").
  explicit SseParser(std::function<void(const std::string&)> on_data) : on_data_(std::move(on_data)) {}
  void feed(std::string_view bytes);
  // The stream ended: an event that had no closing empty line is delivered.
  void finish();

 private:
  void line(std::string_view text);
  std::function<void(const std::string&)> on_data_;
  std::string pending_;  // an incomplete line
  std::string data_;
  bool has_data_ = false;
  bool after_cr_ = false;  // the last byte was \r: a following \n belongs to it
};

}  // namespace lmrt::api_client
