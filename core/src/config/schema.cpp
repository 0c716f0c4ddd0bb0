// The deployment schema: the one place where keys, types, ranges and defaults live.
#include "config/schema.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "config/errors.hpp"

namespace lmrt::config {
namespace {

Key str(std::string key, std::string def, std::string flag, std::string help) {
  Key k;
  k.key = std::move(key);
  k.default_value = std::move(def);
  k.lmdeploy_flag = std::move(flag);
  k.help = std::move(help);
  return k;
}

Key path(std::string key, std::string flag, std::string help) {
  Key k = str(std::move(key), "", std::move(flag), std::move(help));
  k.kind = Kind::Path;
  return k;
}

Key choice(std::string key, std::vector<std::string> choices, std::string flag, std::string help) {
  Key k = str(std::move(key), choices.front(), std::move(flag), std::move(help));
  k.kind = Kind::Choice;
  k.choices = std::move(choices);
  return k;
}

Key choice(std::string key, std::string def, std::vector<std::string> choices, std::string flag, std::string help) {
  Key k = choice(std::move(key), std::move(choices), std::move(flag), std::move(help));
  k.default_value = std::move(def);
  return k;
}

Key integer(std::string key, int64_t def, int64_t lo, int64_t hi, std::string flag, std::string help) {
  Key k;
  k.key = std::move(key);
  k.kind = Kind::Int;
  k.default_value = def;
  k.int_min = lo;
  k.int_max = hi;
  k.lmdeploy_flag = std::move(flag);
  k.help = std::move(help);
  return k;
}

// A float in [lo, hi] (hi = NaN for no upper bound); *_open makes that end exclusive.
Key number(std::string key, double def, double lo, bool lo_open, double hi, bool hi_open, std::string flag,
           std::string help) {
  Key k;
  k.key = std::move(key);
  k.kind = Kind::Float;
  k.default_value = def;
  k.float_min = lo;
  k.float_min_open = lo_open;
  k.float_has_max = !std::isnan(hi);
  k.float_max = k.float_has_max ? hi : 0;
  k.float_max_open = hi_open;
  k.lmdeploy_flag = std::move(flag);
  k.help = std::move(help);
  return k;
}

Key boolean(std::string key, bool def, std::string flag, std::string help) {
  Key k;
  k.key = std::move(key);
  k.kind = Kind::Bool;
  k.default_value = def;
  k.lmdeploy_flag = std::move(flag);
  k.help = std::move(help);
  return k;
}

Key list(std::string key, std::string flag, std::string help, Kind kind = Kind::StringList) {
  Key k;
  k.key = std::move(key);
  k.kind = kind;
  k.default_value = std::vector<std::string>{};
  k.lmdeploy_flag = std::move(flag);
  k.help = std::move(help);
  return k;
}

constexpr double kNoMax = std::numeric_limits<double>::quiet_NaN();
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

std::vector<Key> build() {
  std::vector<Key> s;
  // ---- model
  s.push_back(path("model.path", "model_path (positional)",
                   "Hugging Face model folder; relative to the config file's folder"));
  s.push_back(str("model.name", "", "--model-name", "served model name; default: the model folder's name"));
  s.push_back(choice("model.format", {"hf", "awq"}, "--model-format", "weight format: hf (fp16/bf16/fp32) or awq (int4)"));
  s.push_back(choice("model.chat_template", {"auto", "raw", "internlm2", "llama2", "llama3", "qwen2", "vicuna"},
                     "--chat-template", "chat template; auto = from the model's tokenizer_config.json"));
  s.push_back(number("model.rope_scaling_factor", 0.0, 0.0, false, kNoMax, false, "--rope-scaling-factor",
                     "RoPE scaling factor; 0 = from config.json"));
  // ---- engine
  s.push_back(str("engine.backend", "auto", "--backend", "engine plugin name, or auto (the best one available)"));
  s.push_back(choice("engine.dtype", {"auto", "float32", "float16", "bfloat16"}, "--dtype",
                     "activation and weight dtype; auto = from the model"));
  s.push_back(integer("engine.session_len", 0, 0, kNoLimit, "--session-len",
                      "max tokens of a session; 0 = the model's max_position_embeddings"));
  s.push_back(integer("engine.max_batch_size", 128, 1, 4096, "--max-batch-size", "max sequences in one batch"));
  s.push_back(number("engine.cache_max_entry_count", 0.8, 0.0, true, 1.0, false, "--cache-max-entry-count",
                     "fraction of free device memory given to the KV cache"));
  {
    Key k = integer("engine.cache_block_seq_len", 64, 16, 1024, "--cache-block-seq-len", "tokens per KV cache block");
    k.power_of_two = true;
    s.push_back(std::move(k));
  }
  s.push_back(boolean("engine.enable_prefix_caching", false, "--enable-prefix-caching",
                      "share KV blocks of common prompt prefixes"));
  s.push_back(integer("engine.max_prefill_token_num", 8192, 1, 1048576, "--max-prefill-token-num",
                      "max prompt tokens prefilled in one step (chunked prefill)"));
  {
    Key k = integer("engine.quant_policy", 0, 0, 8, "--quant-policy", "KV cache bits: 0 = no quantization, 4 or 8");
    k.int_choices = {0, 4, 8};
    s.push_back(std::move(k));
  }
  s.push_back(integer("engine.max_kv_blocks", 0, 0, kNoLimit, "",
                      "cap on the KV pool in blocks, after cache_max_entry_count; 0 = no cap"));
  s.push_back(integer("engine.tp", 1, 1, 64, "--tp", "tensor parallel degree (GPUs)"));
  s.push_back(integer("engine.num_threads", 0, 0, kNoLimit, "", "CPU engine threads; 0 = all cores"));
  s.push_back(integer("engine.device_id", 0, 0, kNoLimit, "", "device index (first device for tp > 1)"));
  // ---- generation defaults
  s.push_back(integer("generation.max_new_tokens", 512, 0, kNoLimit, "", "max tokens generated per request"));
  s.push_back(integer("generation.min_new_tokens", 0, 0, kNoLimit, "", "min tokens before EOS or a stop word may end it"));
  s.push_back(number("generation.temperature", 0.8, 0.0, false, kNoMax, false, "", "sampling temperature; 0 = greedy"));
  s.push_back(number("generation.top_p", 1.0, 0.0, true, 1.0, false, "", "nucleus sampling mass"));
  s.push_back(integer("generation.top_k", 0, 0, kNoLimit, "", "sample from the k most likely tokens; 0 = all"));
  s.push_back(number("generation.min_p", 0.0, 0.0, false, 1.0, false, "",
                     "drop tokens below min_p times the top probability; 0 = off"));
  s.push_back(number("generation.repetition_penalty", 1.0, 0.0, true, kNoMax, false, "",
                     "penalty for tokens already present; 1 = off"));
  {
    Key k = integer("generation.seed", 0, 0, kNoLimit, "", "sampling seed; absent = random");
    k.optional = true;
    k.default_value = std::monostate{};
    s.push_back(std::move(k));
  }
  s.push_back(boolean("generation.ignore_eos", false, "", "keep generating after EOS"));
  s.push_back(boolean("generation.skip_special_tokens", true, "", "leave special tokens out of the text"));
  s.push_back(list("generation.stop_words", "", "strings that end generation"));
  // ---- plugins
  s.push_back(list("plugins.search_paths", "", "extra plugin folders; relative to the config file's folder",
                   Kind::PathList));
  // ---- frontends (built-in ones; others keep their section unvalidated)
  s.push_back(str("frontends.cli-chat.system_prompt", "", "", "system message of the chat"));
  s.push_back(str("frontends.http-server.server_name", "127.0.0.1", "--server-name", "address to listen on"));
  s.push_back(integer("frontends.http-server.server_port", 23333, 1, 65535, "--server-port", "port to listen on"));
  s.push_back(list("frontends.http-server.api_keys", "--api-keys", "accepted bearer keys; empty = no auth"));
  s.push_back(list("frontends.http-server.allow_origins", "--allow-origins", "CORS origins; empty = no CORS headers"));
  s.push_back(integer("frontends.http-server.max_concurrent_requests", 0, 0, kNoLimit, "--max-concurrent-requests",
                      "requests served at once; 0 = no limit"));
  s.push_back(integer("frontends.http-server.max_request_bytes", 8388608, 1024, kNoLimit, "",
                      "largest request body accepted"));
  s.push_back(boolean("frontends.http-server.web_ui", true, "", "serve the chat web page at /"));
  s.push_back(str("frontends.api-client.url", "http://127.0.0.1:23333", "api_server_url (positional)",
                  "OpenAI-compatible server to talk to"));
  s.push_back(str("frontends.api-client.api_key", "", "--api-key", "bearer key sent to the server"));
  s.push_back(str("frontends.webui.url", "http://127.0.0.1:23333", "api_server_url (positional)",
                  "OpenAI-compatible server the page talks to"));
  s.push_back(str("frontends.webui.server_name", "127.0.0.1", "--server-name", "address to listen on"));
  s.push_back(integer("frontends.webui.server_port", 6006, 1, 65535, "--server-port", "port to listen on"));
  // ---- top level
  s.push_back(choice("log_level", "info", {"trace", "debug", "info", "warning", "error", "critical", "off"},
                     "--log-level", "log verbosity"));
  return s;
}

std::string quoted(std::string_view text) { return quote_value(text); }

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? std::string(sep) : "") + items[i];
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

bool parse_int(std::string_view text, int64_t& out, bool& overflow) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  overflow = ec == std::errc::result_out_of_range;
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_float(std::string_view text, double& out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty() && std::isfinite(out);
}

bool in_range(const Key& k, double v) {
  if (k.float_min_open ? !(v > k.float_min) : !(v >= k.float_min)) return false;
  if (k.float_has_max && (k.float_max_open ? !(v < k.float_max) : !(v <= k.float_max))) return false;
  return true;
}

}  // namespace

std::string_view Key::section() const {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string_view() : std::string_view(key).substr(0, dot);
}

std::string_view Key::name() const {
  auto dot = key.rfind('.');
  return dot == std::string::npos ? std::string_view(key) : std::string_view(key).substr(dot + 1);
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = build();
  return table;
}

const Key* find_key(std::string_view dotted) {
  for (const Key& k : keys())
    if (k.key == dotted) return &k;
  return nullptr;
}

std::vector<std::string> key_names(std::string_view section) {
  std::vector<std::string> out;
  for (const Key& k : keys())
    if (k.section() == section) out.emplace_back(k.name());
  return out;
}

std::vector<std::string> top_level_names() {
  std::vector<std::string> out = {"model", "engine", "generation", "plugins", "frontends"};
  for (auto& n : key_names("")) out.push_back(n);
  return out;
}

bool is_plain_section(std::string_view name) {
  return name == "model" || name == "engine" || name == "generation" || name == "plugins";
}

const std::vector<std::string>& builtin_frontends() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Key& k : keys()) {
      std::string_view sec = k.section();
      if (sec.starts_with("frontends.")) {
        std::string name(sec.substr(10));
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
      }
    }
    return out;
  }();
  return names;
}

bool is_builtin_frontend(std::string_view name) {
  const auto& b = builtin_frontends();
  return std::find(b.begin(), b.end(), name) != b.end();
}

std::string format_float(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it reading as a number, not an integer
  return s;
}

std::string range_text(const Key& k) {
  switch (k.kind) {
    case Kind::Choice:
      return "one of " + join(k.choices, ", ");
    case Kind::Int: {
      if (!k.int_choices.empty()) {
        std::vector<std::string> c;
        for (auto v : k.int_choices) c.push_back(std::to_string(v));
        return "one of " + join(c, ", ");
      }
      std::string r = k.int_max == std::numeric_limits<int64_t>::max()
                          ? ">= " + std::to_string(k.int_min)
                          : std::to_string(k.int_min) + ".." + std::to_string(k.int_max);
      return k.power_of_two ? "a power of two in " + r : r;
    }
    case Kind::Float:
      if (!k.float_has_max) return (k.float_min_open ? "> " : ">= ") + format_float(k.float_min);
      return std::string(k.float_min_open ? "(" : "[") + format_float(k.float_min) + ", " + format_float(k.float_max) +
             (k.float_max_open ? ")" : "]");
    default:
      return "";
  }
}

std::string expected_text(const Key& k) {
  switch (k.kind) {
    case Kind::String: return "a string";
    case Kind::Path: return "a path";
    case Kind::Choice: return "one of " + join(k.choices, ", ");
    case Kind::Int: return "an integer";
    case Kind::Float: return "a number";
    case Kind::Bool: return "true or false";
    case Kind::StringList: return "a list of strings";
    case Kind::PathList: return "a list of paths";
  }
  return "a value";
}

std::string type_name(const Key& k) {
  switch (k.kind) {
    case Kind::String: return "string";
    case Kind::Path: return "path";
    case Kind::Choice: return "choice";
    case Kind::Int: return k.optional ? "integer (optional)" : "integer";
    case Kind::Float: return "number";
    case Kind::Bool: return "boolean";
    case Kind::StringList: return "list of strings";
    case Kind::PathList: return "list of paths";
  }
  return "value";
}

bool parse_scalar(const Key& k, std::string_view text, Value& out, std::string& problem) {
  switch (k.kind) {
    case Kind::String:
    case Kind::Path:
      out = std::string(text);
      return true;
    case Kind::StringList:
    case Kind::PathList:
      out = std::vector<std::string>{std::string(text)};
      return true;
    case Kind::Choice:
      if (std::find(k.choices.begin(), k.choices.end(), text) == k.choices.end()) {
        problem = quoted(text) + " is not a valid choice; expected " + range_text(k);
        return false;
      }
      out = std::string(text);
      return true;
    case Kind::Bool:
      for (auto t : {"true", "yes", "on"})
        if (iequals(text, t)) return out = true, true;
      for (auto f : {"false", "no", "off"})
        if (iequals(text, f)) return out = false, true;
      problem = "expected true or false, got " + quoted(text);
      return false;
    case Kind::Int: {
      int64_t v = 0;
      bool overflow = false;
      if (!parse_int(text, v, overflow)) {
        problem = "expected an integer, got " + quoted(text) + (overflow ? " (too large)" : "");
        return false;
      }
      bool ok = k.int_choices.empty()
                    ? v >= k.int_min && v <= k.int_max && (!k.power_of_two || (v > 0 && (v & (v - 1)) == 0))
                    : std::find(k.int_choices.begin(), k.int_choices.end(), v) != k.int_choices.end();
      if (!ok) {
        problem = std::to_string(v) + " is out of range; expected " + range_text(k);
        return false;
      }
      out = v;
      return true;
    }
    case Kind::Float: {
      double v = 0;
      if (!parse_float(text, v)) {
        problem = "expected a number, got " + quoted(text);
        return false;
      }
      if (!in_range(k, v)) {
        problem = std::string(text) + " is out of range; expected " + range_text(k);
        return false;
      }
      out = v;
      return true;
    }
  }
  problem = "unsupported key type";
  return false;
}

}  // namespace lmrt::config
