#include "config/reader.hpp"

#include <yaml-cpp/yaml.h>

#include <map>

#include "config/errors.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "lmrt/core/log.hpp"

namespace lmrt {
namespace fs = std::filesystem;
using namespace config;

namespace config {
fs::path resolve_path(const fs::path& base_dir, const std::string& p) {
  if (p.empty()) return {};
  fs::path path(p);
  if (path.is_absolute() || base_dir.empty()) return path.lexically_normal();
  return (base_dir / path).lexically_normal();
}
}  // namespace config

namespace {

// What a node is, for "expected X, got Y".
std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Scalar: return quote_value(n.Scalar());
    default: return "an undefined value";
  }
}

class Walker {
 public:
  Walker(std::string origin, fs::path base_dir, std::map<std::string, Deployment::Value, std::less<>>& values,
         std::vector<std::string>& frontends, std::map<std::string, std::string, std::less<>>& extras)
      : origin_(std::move(origin)), base_dir_(std::move(base_dir)), values_(values), frontends_(frontends),
        extras_(extras) {}

  void root(const YAML::Node& doc) {
    if (doc.IsNull()) return;
    if (!doc.IsMap())
      config_error(where(doc), "(document)",
                   "expected a map of sections (model, engine, generation, plugins, frontends), got " + describe(doc));
    for_each_key(doc, "", [&](const std::string& name, const YAML::Node& key, const YAML::Node& value) {
      if (is_plain_section(name))
        section(name, value, key);
      else if (name == "frontends")
        frontends(value, key);
      else if (const Key* k = find_key(name))
        leaf(*k, value, key);
      else
        config_error(where(key), name, unknown_key_problem("", name, false));
    });
  }

 private:
  std::string where(const YAML::Node& n, const YAML::Node& fallback = YAML::Node()) const {
    YAML::Mark m = n.Mark();
    if (m.is_null() && fallback.IsDefined()) m = fallback.Mark();
    return location(origin_, m.is_null() ? -1 : m.line);
  }

  // Calls fn(name, key node, value node) for each entry of a map, rejecting
  // non-scalar and duplicate keys. `path` is the map's dotted path, for errors.
  template <class F>
  void for_each_key(const YAML::Node& map, const std::string& path, F&& fn) {
    std::map<std::string, int> seen;
    for (const auto& entry : map) {
      const YAML::Node key = entry.first;
      if (!key.IsScalar())
        config_error(where(key, map), path.empty() ? "(document)" : path,
                     "keys must be plain names, got " + describe(key));
      std::string name = key.Scalar();
      std::string dotted = path.empty() ? name : path + "." + name;
      auto [pos, fresh] = seen.emplace(name, key.Mark().line);
      if (!fresh) config_error(where(key), dotted, "duplicate key (first given at line " + std::to_string(pos->second + 1) + ")");
      fn(name, key, entry.second);
    }
  }

  // A map of keys from the schema: model, engine, ..., frontends.<built-in>.
  void section(const std::string& path, const YAML::Node& node, const YAML::Node& key) {
    if (node.IsNull()) return;  // "engine:" with nothing under it: all defaults
    if (!node.IsMap()) config_error(where(node, key), path, "expected a map of keys, got " + describe(node));
    for_each_key(node, path, [&](const std::string& name, const YAML::Node& k, const YAML::Node& value) {
      const Key* entry = find_key(path + "." + name);
      if (!entry) config_error(where(k), path + "." + name, unknown_key_problem(path, name, false));
      leaf(*entry, value, k);
    });
  }

  void frontends(const YAML::Node& node, const YAML::Node& key) {
    if (node.IsNull()) return;
    if (!node.IsMap())
      config_error(where(node, key), "frontends", "expected a map from frontend name to its section, got " + describe(node));
    for_each_key(node, "frontends", [&](const std::string& name, const YAML::Node& k, const YAML::Node& value) {
      frontends_.push_back(name);
      std::string path = "frontends." + name;
      if (is_builtin_frontend(name)) return section(path, value, k);
      // A third-party frontend validates its own section; it must still be a map.
      if (!value.IsNull() && !value.IsMap())
        config_error(where(value, k), path, "expected a map of keys, got " + describe(value));
      std::string near = closest_name(name, builtin_frontends());
      if (!near.empty())
        log::write(LMRT_LOG_WARN, "config",
                   where(k) + ": " + path + ": not a built-in frontend (did you mean '" + near +
                       "'?); kept unvalidated for a plugin of that name");
      extras_[name] = value.IsNull() ? "{}" : YAML::Dump(value);
    });
  }

  void leaf(const Key& k, const YAML::Node& node, const YAML::Node& key) {
    // yaml-cpp marks an empty value at the next token, often the next line: use the key's line.
    const std::string at = node.IsNull() ? where(key) : where(node, key);
    if (k.kind == Kind::StringList || k.kind == Kind::PathList) {
      std::vector<std::string> items;
      if (!node.IsNull()) {
        if (!node.IsSequence()) config_error(at, k.key, "expected " + expected_text(k) + ", got " + describe(node));
        size_t i = 0;
        for (const auto& item : node) {
          ++i;
          if (!item.IsScalar())
            config_error(where(item, node), k.key,
                         "item " + std::to_string(i) + ": expected a string, got " + describe(item));
          items.push_back(k.kind == Kind::PathList ? resolve_path(base_dir_, item.Scalar()).string() : item.Scalar());
        }
      }
      values_[k.key] = std::move(items);
      return;
    }
    if (node.IsNull()) {
      if (k.optional) {
        values_[k.key] = std::monostate{};
        return;
      }
      if (k.kind == Kind::String || k.kind == Kind::Path) {
        values_[k.key] = std::string();
        return;
      }
      config_error(at, k.key, "expected " + expected_text(k) + ", got nothing");
    }
    if (!node.IsScalar()) config_error(at, k.key, "expected " + expected_text(k) + ", got " + describe(node));
    Deployment::Value v;
    std::string problem;
    if (!parse_scalar(k, node.Scalar(), v, problem)) config_error(at, k.key, problem);
    if (k.kind == Kind::Path) v = resolve_path(base_dir_, std::get<std::string>(v)).string();
    values_[k.key] = std::move(v);
  }

  std::string origin_;
  fs::path base_dir_;
  std::map<std::string, Deployment::Value, std::less<>>& values_;
  std::vector<std::string>& frontends_;
  std::map<std::string, std::string, std::less<>>& extras_;
};

}  // namespace

Deployment DeploymentReader::read(std::string_view yaml, std::string origin, fs::path base_dir) {
  Deployment d;
  d.origin_ = origin;
  d.base_dir_ = base_dir;
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    config_error(location(origin, e.mark.is_null() ? -1 : e.mark.line), "",
                 "YAML syntax error: " + e.msg + (e.mark.is_null() ? "" : " (column " + std::to_string(e.mark.column + 1) + ")"));
  } catch (const YAML::Exception& e) {
    config_error(location(origin, e.mark.is_null() ? -1 : e.mark.line), "", std::string("YAML error: ") + e.msg);
  }
  if (docs.size() > 1)
    config_error(location(origin, docs[1].Mark().is_null() ? -1 : docs[1].Mark().line), "(document)",
                 "expected one YAML document, found " + std::to_string(docs.size()));
  if (docs.empty()) return d;
  try {
    Walker(origin, base_dir, d.values_, d.frontends_, d.extra_frontends_).root(docs[0]);
  } catch (const YAML::Exception& e) {  // not expected: every node is type-checked before use
    config_error(location(origin, e.mark.is_null() ? -1 : e.mark.line), "", std::string("YAML error: ") + e.msg);
  }
  return d;
}

}  // namespace lmrt
