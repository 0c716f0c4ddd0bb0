// The deployment configuration: one YAML document that describes a deployment
// (model, engine, generation defaults, plugin search paths, frontends, log level).
//
// Every key, with its type, range and default, is defined once, in the schema
// table (core/src/config/schema.cpp); docs/configuration.md documents it.
//
//   lmrt::Deployment d = lmrt::Deployment::load_file("deploy.yaml");
//   d.set("engine.session_len", "4096", "--session-len");   // flags win over the file
//   lmrt::EngineConfig e = d.engine();
//   std::string text = d.section_yaml("frontends.http-server");  // what the plugin gets
//
// Every problem is an lmrt::Error with code LMRT_STATUS_CONFIG_ERROR and a message
//   FILE:LINE: KEY: problem        e.g. deploy.yaml:12: engine.sesion_len: unknown key (did you mean 'session_len'?)
//   ORIGIN: KEY: problem           for set()/set_list(), e.g. --session-len: engine.session_len: expected an integer, got 'abc'
//
// Thread safety: a Deployment is a value; const members may be called from any
// number of threads, mutating ones need exclusive access.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lmrt/abi.h"

namespace lmrt {

// `model` section. path is resolved: relative paths in a file resolve against the
// file's folder, flag values against the current directory; empty when unset.
struct ModelConfig {
  std::filesystem::path path;
  std::string name;           // served model name; default: the model folder's name
  std::string format;         // hf | awq
  std::string chat_template;  // auto | raw | internlm2 | llama2 | llama3 | qwen2 | vicuna
  double rope_scaling_factor = 0;  // 0 = from config.json
  bool operator==(const ModelConfig&) const = default;
};

// `engine` section (LMDeploy TurbomindEngineConfig names).
struct EngineConfig {
  std::string backend;  // plugin name or "auto"
  std::string dtype;    // auto | float32 | float16 | bfloat16
  int64_t session_len = 0;  // 0 = the model's max_position_embeddings
  int64_t max_batch_size = 0;
  double cache_max_entry_count = 0;
  int64_t cache_block_seq_len = 0;
  bool enable_prefix_caching = false;
  int64_t max_prefill_token_num = 0;
  int64_t quant_policy = 0;  // 0 | 4 | 8 (KV cache bits; 0 = no KV quantization)
  int64_t max_kv_blocks = 0;  // 0 = no cap on the KV pool
  int64_t tp = 0;
  int64_t num_threads = 0;  // 0 = all cores (cpu engine)
  int64_t device_id = 0;
  bool operator==(const EngineConfig&) const = default;
};

// `generation` section: per-request defaults (LMDeploy GenerationConfig names).
struct GenerationDefaults {
  int64_t max_new_tokens = 0;
  int64_t min_new_tokens = 0;
  double temperature = 0;
  double top_p = 0;
  int64_t top_k = 0;  // 0 = no top-k
  double min_p = 0;
  double repetition_penalty = 0;
  std::optional<uint64_t> seed;  // absent = random
  bool ignore_eos = false;
  bool skip_special_tokens = false;
  std::vector<std::string> stop_words;
  bool operator==(const GenerationDefaults&) const = default;
};

// `plugins` section. search_paths are resolved like model.path.
struct PluginsConfig {
  std::vector<std::filesystem::path> search_paths;
  bool operator==(const PluginsConfig&) const = default;
};

// One key of the schema, described for help texts, docs and CLI flag tables.
struct ConfigKeyInfo {
  std::string key;            // dotted: "engine.session_len"
  std::string type;           // "integer", "number", "boolean", "string", "choice", "list of strings", "path", ...
  std::string default_value;  // as YAML text, one line ("128", "[]", "\"127.0.0.1\""); "" for none
  std::string range;          // "1..4096", "(0, 1]", "one of auto, float32, ..."; "" when unconstrained
  std::string lmdeploy_flag;  // the matching LMDeploy CLI flag, "" when none
  std::string help;           // one line
};

class Deployment {
 public:
  // All defaults, origin "defaults", base_dir the current directory ("").
  static Deployment defaults();
  // Parses one YAML document. `origin` names it in errors (usually the file name);
  // relative paths in it resolve against `base_dir`. An empty document is valid.
  static Deployment parse(std::string_view yaml, std::string origin, std::filesystem::path base_dir);
  // Reads and parses a file; origin is the path as given, base_dir its folder.
  static Deployment load_file(const std::filesystem::path& file);

  // Overrides one key from a flag, parsed and validated by the schema; errors name
  // `origin` instead of FILE:LINE. Keys: "engine.session_len", "log_level",
  // "frontends.http-server.server_port"; keys of an unknown frontend
  // ("frontends.my-plugin.x") are stored as strings, unvalidated. A relative path
  // value is kept relative to the current directory. For a list key the value
  // becomes a one-element list. Setting a frontend key adds that frontend.
  void set(std::string_view dotted_key, std::string_view value, std::string_view origin = "flag");
  // Overrides a list key (stop_words, search_paths, api_keys, allow_origins).
  void set_list(std::string_view dotted_key, const std::vector<std::string>& values,
                std::string_view origin = "flag");
  // Adds a frontend section (all defaults) unless present.
  void add_frontend(std::string_view name);

  ModelConfig model() const;
  EngineConfig engine() const;
  GenerationDefaults generation() const;
  PluginsConfig plugins() const;
  lmrt_log_level log_level() const;
  // model.path, or a CONFIG_ERROR naming the origin when it is unset.
  std::filesystem::path require_model_path() const;

  // Frontends named in the document or added by flags, in order of appearance.
  std::vector<std::string> frontend_names() const;
  bool has_frontend(std::string_view name) const;
  // A frontend's section as YAML. Built-in frontends: defaults filled (even when
  // absent). Others: the section as written, "" when absent.
  std::string frontend_yaml(std::string_view name) const;
  // The effective YAML at a dotted path: "" (everything), "engine", "model",
  // "frontends", "frontends.http-server", "engine.session_len", ... This is the
  // text plugins receive through the ABI (paths absolute). An absent unknown frontend gives "";
  // any other unknown path is an LMRT_STATUS_NOT_FOUND error.
  std::string section_yaml(std::string_view dotted_path) const;
  // The whole effective config, defaults filled (`lmrt config print`), with
  // absolute paths; parse(to_yaml()) gives an equal Deployment.
  std::string to_yaml() const;

  const std::string& origin() const { return origin_; }
  std::filesystem::path base_dir() const { return base_dir_; }

  // Equal effective configurations (origin and base_dir are not compared).
  bool operator==(const Deployment& other) const;

  // Every key of the schema, in document order.
  static std::vector<ConfigKeyInfo> schema();

  // A typed value as the schema stores it; monostate = unset (optional keys).
  using Value = std::variant<std::monostate, bool, int64_t, double, std::string, std::vector<std::string>>;

 private:
  Deployment() = default;
  friend class DeploymentReader;  // fills a Deployment from YAML (core/src/config/reader.cpp)

  // The value of a schema key: the one given, else the schema default.
  const Value& get(std::string_view key) const;

  std::string origin_ = "defaults";
  std::filesystem::path base_dir_;
  std::map<std::string, Value, std::less<>> values_;  // given values (file, then flags) by dotted key
  std::vector<std::string> frontends_;                // present frontends, in order of appearance
  std::map<std::string, std::string, std::less<>> extra_frontends_;  // unknown frontend -> its section as YAML
};

}  // namespace lmrt
