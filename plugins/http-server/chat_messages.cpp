#include "chat_messages.hpp"

#include "api_error.hpp"

namespace lmrt::http {

using nlohmann::json;

Turns parse_messages(const json& messages, const char* param) {
  if (!messages.is_array() || messages.empty())
    throw invalid_request(std::string("'") + param + "' must be a non-empty list of messages", param);
  Turns t;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    std::string where = std::string(param) + "[" + std::to_string(i) + "]";
    if (!m.is_object()) throw invalid_request("'" + where + "' must be an object", where);
    if (!m.contains("role") || !m["role"].is_string())
      throw invalid_request("'" + where + ".role' must be a string", where + ".role");
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant")
      throw invalid_request("'" + where + ".role' must be system, user or assistant, got '" + role + "'",
                            where + ".role");
    std::string content;
    const json c = m.contains("content") ? m["content"] : json();
    if (c.is_string()) {
      content = c.get<std::string>();
    } else if (c.is_array()) {
      for (const auto& part : c) {
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
          throw invalid_request("'" + where + ".content' parts must be objects with a 'type'", where + ".content");
        std::string type = part["type"].get<std::string>();
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          content += part["text"].get<std::string>();
        } else if (type == "image_url") {
          throw invalid_request("this model does not accept images ('" + where + ".content')", where + ".content");
        } else {
          throw invalid_request("'" + where + ".content' has an unsupported part of type '" + type + "'",
                                where + ".content");
        }
      }
    } else if (!(c.is_null() && role == "assistant")) {
      throw invalid_request("'" + where + ".content' must be a string or a list of parts", where + ".content");
    }
    t.roles.push_back(role);
    t.contents.push_back(std::move(content));
  }
  return t;
}

}  // namespace lmrt::http
