// Deployment: construction, flag overrides and typed access. Reading YAML is in
// reader.cpp, writing it in writer.cpp, the keys themselves in schema.cpp.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/errors.hpp"
#include "config/reader.hpp"
#include "config/schema.hpp"
#include "config/suggest.hpp"
#include "lmrt/core/config.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"

namespace lmrt {
namespace fs = std::filesystem;
using namespace config;

namespace {

// "frontends.NAME.KEY" -> {NAME, KEY}; false for other keys.
bool split_frontend_key(std::string_view dotted, std::string_view& name, std::string_view& rest) {
  if (!dotted.starts_with("frontends.")) return false;
  std::string_view tail = dotted.substr(10);
  auto dot = tail.find('.');
  name = tail.substr(0, dot);
  rest = dot == std::string_view::npos ? std::string_view() : tail.substr(dot + 1);
  return true;
}

// The unknown-key error for a dotted key given by a flag.
[[noreturn]] void unknown_flag_key(std::string_view origin, std::string_view dotted) {
  if (is_plain_section(dotted) || dotted == "frontends")
    config_error(origin, dotted,
                 "is a section, not a key; set one of its keys, e.g. " +
                     (dotted == "frontends" ? std::string("frontends.http-server.server_port")
                                            : std::string(dotted) + "." + key_names(dotted).front()));
  auto dot = dotted.rfind('.');
  std::string_view section = dot == std::string_view::npos ? std::string_view() : dotted.substr(0, dot);
  std::string_view name = dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
  if (!section.empty() && !is_plain_section(section) &&
      !(section.starts_with("frontends.") && is_builtin_frontend(section.substr(10)))) {
    std::string near = closest_name(section, {"model", "engine", "generation", "plugins", "frontends"});
    config_error(origin, dotted,
                 "unknown section '" + std::string(section) + "'" +
                     (near.empty() ? " (sections: model, engine, generation, plugins, frontends.<name>)"
                                   : " (did you mean '" + near + "'?)"));
  }
  std::string problem = unknown_key_problem(section, name, true);
  config_error(origin, dotted, problem);
}

std::string read_file_text(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) config_error(file.string(), "", "is a directory, not a YAML file");
  std::ifstream in(file, std::ios::binary);
  if (!in) config_error(file.string(), "", std::string("cannot open the file (") + std::strerror(errno) + ")");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) config_error(file.string(), "", "cannot read the file");
  return ss.str();
}

}  // namespace

Deployment Deployment::defaults() { return Deployment(); }

Deployment Deployment::parse(std::string_view yaml, std::string origin, fs::path base_dir) {
  return DeploymentReader::read(yaml, std::move(origin), std::move(base_dir));
}

Deployment Deployment::load_file(const fs::path& file) {
  return parse(read_file_text(file), file.string(), file.parent_path());
}

const Deployment::Value& Deployment::get(std::string_view key) const {
  if (auto it = values_.find(key); it != values_.end()) return it->second;
  const Key* k = find_key(key);
  if (!k) fail(LMRT_STATUS_INTERNAL, "config: no schema key '" + std::string(key) + "'");
  return k->default_value;
}

void Deployment::add_frontend(std::string_view name) {
  if (name.empty() || name.find('.') != std::string_view::npos)
    fail(LMRT_STATUS_CONFIG_ERROR, "frontends: invalid frontend name '" + std::string(name) + "'");
  if (has_frontend(name)) return;
  frontends_.emplace_back(name);
  if (!is_builtin_frontend(name)) extra_frontends_[std::string(name)] = "{}";
}

void Deployment::set(std::string_view dotted_key, std::string_view value, std::string_view origin) {
  if (const Key* k = find_key(dotted_key)) {
    Value v;
    std::string problem;
    if (!parse_scalar(*k, value, v, problem)) config_error(origin, dotted_key, problem);
    values_[k->key] = std::move(v);
    std::string_view name, rest;
    if (split_frontend_key(dotted_key, name, rest)) add_frontend(name);
    return;
  }
  set_list(dotted_key, {std::string(value)}, origin);  // an unknown frontend's key, or an error
}

void Deployment::set_list(std::string_view dotted_key, const std::vector<std::string>& values, std::string_view origin) {
  if (const Key* k = find_key(dotted_key)) {
    if (k->kind != Kind::StringList && k->kind != Kind::PathList) {
      if (values.size() == 1) return set(dotted_key, values.front(), origin);
      config_error(origin, dotted_key, "expected one value (" + expected_text(*k) + "), got " + std::to_string(values.size()));
    }
    values_[k->key] = values;
    std::string_view name, rest;
    if (split_frontend_key(dotted_key, name, rest)) add_frontend(name);
    return;
  }
  std::string_view name, rest;
  if (!split_frontend_key(dotted_key, name, rest)) unknown_flag_key(origin, dotted_key);
  if (name.empty() || rest.empty()) config_error(origin, dotted_key, "expected frontends.<frontend>.<key>");
  if (is_builtin_frontend(name)) unknown_flag_key(origin, dotted_key);
  // A third-party frontend's key: stored as text; its plugin validates it.
  if (!has_frontend(name)) {
    std::string near = closest_name(name, builtin_frontends());
    if (!near.empty())
      log::write(LMRT_LOG_WARN, "config",
                 std::string(origin) + ": frontends." + std::string(name) + ": not a built-in frontend (did you mean '" +
                     near + "'?); kept unvalidated for a plugin of that name");
  }
  add_frontend(name);
  YAML::Node section = YAML::Load(extra_frontends_[std::string(name)]);
  if (!section.IsMap()) section = YAML::Node(YAML::NodeType::Map);
  bool is_list = values.size() != 1;
  if (is_list) {
    YAML::Node seq(YAML::NodeType::Sequence);
    for (const auto& v : values) seq.push_back(v);
    section[std::string(rest)] = seq;
  } else {
    section[std::string(rest)] = values.front();
  }
  extra_frontends_[std::string(name)] = YAML::Dump(section);
}

ModelConfig Deployment::model() const {
  ModelConfig m;
  m.path = std::get<std::string>(get("model.path"));
  m.name = std::get<std::string>(get("model.name"));
  if (m.name.empty() && !m.path.empty()) {
    // The served name defaults to the model folder's name ("models/llama/" -> "llama").
    fs::path p = fs::absolute(m.path).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    m.name = p.filename().string();
  }
  m.format = std::get<std::string>(get("model.format"));
  m.chat_template = std::get<std::string>(get("model.chat_template"));
  m.rope_scaling_factor = std::get<double>(get("model.rope_scaling_factor"));
  return m;
}

EngineConfig Deployment::engine() const {
  auto i = [&](const char* k) { return std::get<int64_t>(get(k)); };
  EngineConfig e;
  e.backend = std::get<std::string>(get("engine.backend"));
  e.dtype = std::get<std::string>(get("engine.dtype"));
  e.session_len = i("engine.session_len");
  e.max_batch_size = i("engine.max_batch_size");
  e.cache_max_entry_count = std::get<double>(get("engine.cache_max_entry_count"));
  e.cache_block_seq_len = i("engine.cache_block_seq_len");
  e.enable_prefix_caching = std::get<bool>(get("engine.enable_prefix_caching"));
  e.max_prefill_token_num = i("engine.max_prefill_token_num");
  e.quant_policy = i("engine.quant_policy");
  e.tp = i("engine.tp");
  e.max_kv_blocks = i("engine.max_kv_blocks");
  e.num_threads = i("engine.num_threads");
  e.device_id = i("engine.device_id");
  return e;
}

GenerationDefaults Deployment::generation() const {
  auto i = [&](const char* k) { return std::get<int64_t>(get(k)); };
  auto f = [&](const char* k) { return std::get<double>(get(k)); };
  GenerationDefaults g;
  g.max_new_tokens = i("generation.max_new_tokens");
  g.min_new_tokens = i("generation.min_new_tokens");
  g.temperature = f("generation.temperature");
  g.top_p = f("generation.top_p");
  g.top_k = i("generation.top_k");
  g.min_p = f("generation.min_p");
  g.repetition_penalty = f("generation.repetition_penalty");
  if (const auto* seed = std::get_if<int64_t>(&get("generation.seed"))) g.seed = static_cast<uint64_t>(*seed);
  g.ignore_eos = std::get<bool>(get("generation.ignore_eos"));
  g.skip_special_tokens = std::get<bool>(get("generation.skip_special_tokens"));
  g.stop_words = std::get<std::vector<std::string>>(get("generation.stop_words"));
  return g;
}

PluginsConfig Deployment::plugins() const {
  PluginsConfig p;
  for (const auto& s : std::get<std::vector<std::string>>(get("plugins.search_paths"))) p.search_paths.emplace_back(s);
  return p;
}

lmrt_log_level Deployment::log_level() const { return log::parse_level(std::get<std::string>(get("log_level"))); }

fs::path Deployment::require_model_path() const {
  fs::path p = model().path;
  if (p.empty())
    config_error(origin_, "model.path", "required to load a model (set model.path in the config or pass a model path)");
  return p;
}

std::vector<std::string> Deployment::frontend_names() const { return frontends_; }

bool Deployment::has_frontend(std::string_view name) const {
  return std::find(frontends_.begin(), frontends_.end(), name) != frontends_.end();
}

bool Deployment::operator==(const Deployment& other) const { return to_yaml() == other.to_yaml(); }

std::vector<ConfigKeyInfo> Deployment::schema() {
  std::vector<ConfigKeyInfo> out;
  for (const Key& k : keys()) {
    ConfigKeyInfo info{k.key, type_name(k), "", range_text(k), k.lmdeploy_flag, k.help};
    if (!std::holds_alternative<std::monostate>(k.default_value)) {
      Deployment d;
      info.default_value = d.section_yaml(k.key);
      while (!info.default_value.empty() && info.default_value.back() == '\n') info.default_value.pop_back();
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace lmrt
