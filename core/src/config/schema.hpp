// The schema of the deployment configuration: every key, its type, range and
// default, in one table (schema.cpp). Private to the core's config code.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmrt/core/config.hpp"

namespace lmrt::config {

using Value = Deployment::Value;

enum class Kind {
  String,      // any scalar text
  Path,        // a path; relative ones resolve against the config file's folder
  Choice,      // one of `choices`
  Int,         // int_min..int_max, optionally a power of two or one of `int_choices`
  Float,       // float_min..float_max, each end open or closed
  Bool,        // true/false (also yes/no, on/off)
  StringList,  // a list of strings
  PathList,    // a list of paths
};

struct Key {
  std::string key;  // dotted: "engine.session_len", "frontends.http-server.server_port", "log_level"
  Kind kind = Kind::String;
  Value default_value;    // monostate only for optional keys
  bool optional = false;  // may stay unset (generation.seed)
  int64_t int_min = 0, int_max = INT64_MAX;
  bool power_of_two = false;
  std::vector<int64_t> int_choices;
  double float_min = 0, float_max = 0;
  bool float_min_open = false, float_max_open = false, float_has_max = false;
  std::vector<std::string> choices;
  std::string lmdeploy_flag;
  std::string help;

  std::string_view section() const;  // "engine", "frontends.http-server", "" for top-level keys
  std::string_view name() const;     // "session_len"
};

// Every key, in document order.
const std::vector<Key>& keys();
const Key* find_key(std::string_view dotted);
// The leaf key names of a section ("engine" -> session_len, ...; "" -> log_level).
std::vector<std::string> key_names(std::string_view section);
// Top-level names: the sections and top-level keys.
std::vector<std::string> top_level_names();
// Sections that hold keys directly: model, engine, generation, plugins.
bool is_plain_section(std::string_view name);
// Frontends whose section the schema validates.
const std::vector<std::string>& builtin_frontends();
bool is_builtin_frontend(std::string_view name);

// Parses a scalar's text as `key`'s type and checks its range. On success returns
// true and sets `out`; otherwise returns false and sets `problem` (e.g. "expected
// an integer, got 'abc'", "0 is out of range 1..4096").
bool parse_scalar(const Key& key, std::string_view text, Value& out, std::string& problem);
// "an integer", "a number", "true or false", "a string", "a list of strings", ...
std::string expected_text(const Key& key);
// "1..4096", "(0, 1]", ">= 0", "one of auto, float32"; "" when unconstrained.
std::string range_text(const Key& key);
// A short type name for docs: "integer", "number", "boolean", "string", "path", ...
std::string type_name(const Key& key);
// A number as the shortest text that reads back to the same double ("0.8", "1.0").
std::string format_float(double v);

}  // namespace lmrt::config
