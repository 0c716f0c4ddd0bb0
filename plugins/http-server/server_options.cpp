#include "server_options.hpp"

#include <yaml-cpp/yaml.h>

namespace lmrt::http {

ServerOptions ServerOptions::from_yaml(const std::string& yaml) {
  ServerOptions o;
  YAML::Node n = YAML::Load(yaml);
  if (!n.IsMap()) return o;
  if (n["server_name"]) o.server_name = n["server_name"].as<std::string>();
  if (n["server_port"]) o.server_port = n["server_port"].as<int>();
  if (n["api_keys"] && n["api_keys"].IsSequence()) o.api_keys = n["api_keys"].as<std::vector<std::string>>();
  if (n["allow_origins"] && n["allow_origins"].IsSequence())
    o.allow_origins = n["allow_origins"].as<std::vector<std::string>>();
  if (n["max_concurrent_requests"]) o.max_concurrent_requests = n["max_concurrent_requests"].as<uint64_t>();
  if (n["max_request_bytes"]) o.max_request_bytes = n["max_request_bytes"].as<uint64_t>();
  if (n["web_ui"]) o.web_ui = n["web_ui"].as<bool>();
  return o;
}

}  // namespace lmrt::http
