// Deployment -> YAML: the effective config with defaults filled (to_yaml,
// section_yaml, frontend_yaml). Keys come out in schema order.
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <functional>

#include "config/schema.hpp"
#include "lmrt/core/config.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt {
using namespace config;

namespace {

using Getter = std::function<Deployment::Value(const Key&)>;

// Whether a free-text string must be quoted to read back as the same string (and
// as a string, for YAML readers that infer types): only simple words and paths go bare.
bool needs_quotes(const std::string& s) {
  if (s.empty() || (!std::isalpha(static_cast<unsigned char>(s[0])) && s[0] != '/' && s[0] != '_')) return true;
  for (unsigned char c : s)
    if (!std::isalnum(c) && c != '_' && c != '-' && c != '.' && c != '/') return true;
  std::string lower;
  for (unsigned char c : s) lower += static_cast<char>(std::tolower(c));
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "nan", "inf"})
    if (lower == word) return true;
  return false;
}

void emit_string(YAML::Emitter& out, const std::string& s) {
  if (needs_quotes(s)) out << YAML::DoubleQuoted;
  out << s;
}

void emit_value(YAML::Emitter& out, const Key& k, const Deployment::Value& v) {
  if (const auto* b = std::get_if<bool>(&v)) {
    out << (*b ? "true" : "false");
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    out << static_cast<long long>(*i);
  } else if (const auto* f = std::get_if<double>(&v)) {
    out << format_float(*f);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    if (k.kind == Kind::Choice)
      out << *s;
    else
      emit_string(out, *s);
  } else if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
    out << YAML::Flow << YAML::BeginSeq;
    for (const auto& item : *l) emit_string(out, item);
    out << YAML::EndSeq;
  } else {
    out << YAML::Null;
  }
}

// The keys of one section as a block map; unset optional keys are left out.
void emit_section(YAML::Emitter& out, std::string_view section, const Getter& value_of) {
  out << YAML::BeginMap;
  for (const Key& k : keys()) {
    if (k.section() != section) continue;
    Deployment::Value v = value_of(k);
    if (std::holds_alternative<std::monostate>(v)) continue;
    out << YAML::Key << std::string(k.name()) << YAML::Value;
    emit_value(out, k, v);
  }
  out << YAML::EndMap;
}

std::string absolute_path(const std::string& p) {
  return p.empty() ? p : std::filesystem::absolute(p).lexically_normal().string();
}

std::string text_of(const YAML::Emitter& out) {
  if (!out.good()) fail(LMRT_STATUS_INTERNAL, std::string("config: YAML emitter: ") + out.GetLastError());
  return std::string(out.c_str()) + "\n";
}

}  // namespace

std::string Deployment::frontend_yaml(std::string_view name) const {
  if (!is_builtin_frontend(name)) {
    auto it = extra_frontends_.find(name);
    return it == extra_frontends_.end() ? std::string() : it->second + (it->second.ends_with("\n") ? "" : "\n");
  }
  return section_yaml("frontends." + std::string(name));
}

std::string Deployment::section_yaml(std::string_view path) const {
  const std::string model_name = model().name;
  Getter value_of = [&](const Key& k) -> Value {
    if (k.key == "model.name") return model_name;
    // Paths come out absolute, so the text means the same wherever it is saved or read.
    if (k.kind == Kind::Path) return absolute_path(std::get<std::string>(get(k.key)));
    if (k.kind == Kind::PathList) {
      std::vector<std::string> out;
      for (const auto& p : std::get<std::vector<std::string>>(get(k.key))) out.push_back(absolute_path(p));
      return out;
    }
    return get(k.key);
  };
  auto emit_frontends = [&](YAML::Emitter& out) {
    out << YAML::BeginMap;
    for (const auto& name : frontends_) {
      out << YAML::Key << name << YAML::Value;
      if (is_builtin_frontend(name))
        emit_section(out, "frontends." + name, value_of);
      else
        out << YAML::Load(extra_frontends_.at(name));
    }
    out << YAML::EndMap;
  };

  YAML::Emitter out;
  if (path.empty()) {
    out << YAML::BeginMap;
    for (const char* s : {"model", "engine", "generation", "plugins"}) {
      out << YAML::Key << s << YAML::Value;
      emit_section(out, s, value_of);
    }
    out << YAML::Key << "frontends" << YAML::Value;
    emit_frontends(out);
    for (const Key& k : keys())
      if (k.section().empty()) {
        out << YAML::Key << k.key << YAML::Value;
        emit_value(out, k, value_of(k));
      }
    out << YAML::EndMap;
  } else if (is_plain_section(path) ||
             (path.starts_with("frontends.") && is_builtin_frontend(path.substr(10)))) {
    emit_section(out, path, value_of);
  } else if (path == "frontends") {
    emit_frontends(out);
  } else if (path.starts_with("frontends.") && path.find('.', 10) == std::string_view::npos) {
    return frontend_yaml(path.substr(10));  // a third-party frontend: as written, "" when absent
  } else if (const Key* k = find_key(path)) {
    emit_value(out, *k, value_of(*k));
  } else {
    fail(LMRT_STATUS_NOT_FOUND, "config: no section or key '" + std::string(path) +
                                    "' (sections: model, engine, generation, plugins, frontends, frontends.<name>)");
  }
  return text_of(out);
}

std::string Deployment::to_yaml() const { return section_yaml(""); }

}  // namespace lmrt
