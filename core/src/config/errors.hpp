// Building the CONFIG_ERROR messages: "WHERE: KEY: problem", where WHERE is
// FILE:LINE for a document and the flag's name for an override.
#pragma once

#include <string>
#include <string_view>

namespace lmrt::config {

// Throws lmrt::Error(LMRT_STATUS_CONFIG_ERROR, "<where>: <key>: <problem>").
[[noreturn]] void config_error(std::string_view where, std::string_view key, std::string_view problem);

// A value quoted for a message: 'abc', cut to 60 bytes (at a UTF-8 boundary)
// with "..." so that a stray blob does not flood the error.
std::string quote_value(std::string_view value);

// "deploy.yaml:12" from an origin and a 0-based line (yaml-cpp marks); just the
// origin when the line is unknown (< 0).
std::string location(std::string_view origin, int zero_based_line);

// The problem text for an unknown key `name` in `section` ("" = top level):
// "unknown key (did you mean 'session_len'?)", "unknown key (it belongs in
// 'generation': generation.temperature)" or "unknown key (valid keys: ...)".
// `full_suggestion` suggests the whole dotted key (for flags).
std::string unknown_key_problem(std::string_view section, std::string_view name, bool full_suggestion);

}  // namespace lmrt::config
