// The http-server's settings: its frontends.http-server section (docs/serving.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmrt::http {

struct ServerOptions {
  std::string server_name = "127.0.0.1";
  int server_port = 23333;
  std::vector<std::string> api_keys;       // empty: no authentication
  std::vector<std::string> allow_origins;  // empty: no CORS headers
  uint64_t max_concurrent_requests = 0;    // generation requests at once; 0: no limit; past it: 429
  uint64_t max_request_bytes = 8388608;    // larger bodies: 413
  bool web_ui = true;                      // serve the chat page at /

  // Parses the section's YAML (already validated by the deployment schema).
  static ServerOptions from_yaml(const std::string& yaml);
};

}  // namespace lmrt::http
