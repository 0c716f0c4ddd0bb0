// The "messages" of a chat request: OpenAI's roles and content (a string, or a list
// of text parts), checked, kept as strings, viewed as the runtime's lmrt_message array.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmrt/runtime.h"

namespace lmrt::http {

struct Turns {
  std::vector<std::string> roles, contents;
  std::vector<lmrt_message> view() const {
    std::vector<lmrt_message> out;
    for (size_t i = 0; i < roles.size(); ++i) {
      lmrt_message m{};
      m.struct_size = sizeof m;
      m.role = lmrt_str{roles[i].data(), roles[i].size()};
      m.content = lmrt_str{contents[i].data(), contents[i].size()};
      out.push_back(m);
    }
    return out;
  }
};


// Throws a 400 naming the field (`param`[i].role, ...) when a message is malformed.
Turns parse_messages(const nlohmann::json& messages, const char* param);

}  // namespace lmrt::http
