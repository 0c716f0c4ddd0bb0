#include "lmrt/core/hf_config.hpp"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "lmrt/core/error.hpp"

namespace lmrt {
namespace {

using json = nlohmann::json;

[[noreturn]] void config_error(const std::filesystem::path& file, const std::string& what) {
  fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": " + what);
}

json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) fail(LMRT_STATUS_IO_ERROR, file.string() + ": cannot open");
  try {
    json j = json::parse(in);
    if (!j.is_object()) config_error(file, "not a JSON object");
    return j;
  } catch (const json::exception& e) {
    config_error(file, std::string("bad JSON: ") + e.what());
  }
}

bool has_value(const json& j, const char* key) { return j.contains(key) && !j[key].is_null(); }

uint32_t get_u32(const json& j, const std::filesystem::path& file, const char* key, std::optional<uint32_t> fallback) {
  if (!has_value(j, key)) {
    if (fallback) return *fallback;
    config_error(file, std::string("missing required key \"") + key + "\"");
  }
  const json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > std::numeric_limits<int32_t>::max())
    config_error(file, std::string("\"") + key + "\" must be a positive integer, got " + v.dump());
  return v.get<uint32_t>();
}

float get_positive_float(const json& j, const std::filesystem::path& file, const char* key, float fallback) {
  if (!has_value(j, key)) return fallback;
  const json& v = j[key];
  if (!v.is_number() || !(v.get<double>() > 0) || !std::isfinite(v.get<double>()))
    config_error(file, std::string("\"") + key + "\" must be a positive number, got " + v.dump());
  return v.get<float>();
}

bool get_bool(const json& j, const std::filesystem::path& file, const char* key, bool fallback) {
  if (!has_value(j, key)) return fallback;
  if (!j[key].is_boolean()) config_error(file, std::string("\"") + key + "\" must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

// eos_token_id / bos_token_id: an integer, a list of integers, or null.
std::vector<int32_t> get_token_ids(const json& j, const std::filesystem::path& file, const char* key) {
  std::vector<int32_t> ids;
  if (!has_value(j, key)) return ids;
  const json& v = j[key];
  auto one = [&](const json& x) {
    if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > std::numeric_limits<int32_t>::max())
      config_error(file, std::string("\"") + key + "\" must be a token id or a list of token ids, got " + v.dump());
    ids.push_back(x.get<int32_t>());
  };
  if (v.is_array())
    for (const json& x : v) one(x);
  else
    one(v);
  return ids;
}

struct KnownArch {
  const char* hf_class;
  const char* model_type;
  ModelArch arch;
};
constexpr KnownArch kKnown[] = {
    {"LlamaForCausalLM", "llama", ModelArch::llama},
    {"InternLM2ForCausalLM", "internlm2", ModelArch::internlm2},
    {"Qwen2ForCausalLM", "qwen2", ModelArch::qwen2},
};

// RoPE scaling from `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5, which
// also moves rope_theta there).
void read_rope_scaling(const json& cfg, const std::filesystem::path& file, HfConfig& out) {
  const char* key = has_value(cfg, "rope_scaling") ? "rope_scaling"
                    : has_value(cfg, "rope_parameters") ? "rope_parameters"
                                                         : nullptr;
  if (key == nullptr) return;
  const std::string k = key;
  const json& rs = cfg[k];
  if (!rs.is_object()) config_error(file, "bad " + k + ": expected an object or null, got " + rs.dump());
  if (k == "rope_parameters" && !has_value(cfg, "rope_theta") && has_value(rs, "rope_theta")) {
    if (!rs["rope_theta"].is_number() || !(rs["rope_theta"].get<double>() > 0))
      config_error(file, "bad rope_parameters " + rs.dump() + ": \"rope_theta\" must be a positive number");
    out.rope_theta = rs["rope_theta"].get<float>();
  }
  const json* type = nullptr;
  if (has_value(rs, "rope_type")) type = &rs["rope_type"];  // newer transformers
  else if (has_value(rs, "type")) type = &rs["type"];
  if (type == nullptr && k == "rope_parameters") return;  // only rope_theta
  if (type == nullptr || !type->is_string())
    config_error(file, "bad " + k + " " + rs.dump() + ": needs \"type\" (or \"rope_type\"): linear or dynamic");
  const auto name = type->get<std::string>();
  if (name == "default") return;  // transformers' spelling of "no scaling"
  if (name == "linear") out.rope_scaling = LMRT_ROPE_SCALING_LINEAR;
  else if (name == "dynamic") out.rope_scaling = LMRT_ROPE_SCALING_DYNAMIC;
  else
    fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": " + k + " type '" + name +
                                      "' is not supported (supported: linear, dynamic)");
  if (!has_value(rs, "factor") || !rs["factor"].is_number() || !(rs["factor"].get<double>() > 0) ||
      !std::isfinite(rs["factor"].get<double>()))
    config_error(file, "bad " + k + " " + rs.dump() + ": \"factor\" must be a positive number");
  out.rope_scaling_factor = rs["factor"].get<float>();
}

}  // namespace

const char* arch_name(ModelArch arch) {
  switch (arch) {
    case ModelArch::llama: return "llama";
    case ModelArch::internlm2: return "internlm2";
    case ModelArch::qwen2: return "qwen2";
  }
  return "?";
}

const char* supported_architectures() { return "LlamaForCausalLM, InternLM2ForCausalLM, Qwen2ForCausalLM"; }

HfConfig read_hf_config(const std::filesystem::path& dir) {
  const auto file = dir / "config.json";
  if (!std::filesystem::exists(file))
    fail(LMRT_STATUS_NOT_FOUND, dir.string() + ": no config.json (not a Hugging Face model folder)");
  const json cfg = read_json_file(file);
  HfConfig out;

  // Architecture: the first known name in `architectures`; model_type only when that list is absent.
  if (has_value(cfg, "model_type")) {
    if (!cfg["model_type"].is_string()) config_error(file, "\"model_type\" must be a string");
    out.model_type = cfg["model_type"].get<std::string>();
  }
  std::string listed;
  bool found = false;
  if (has_value(cfg, "architectures") && cfg["architectures"].is_array() && !cfg["architectures"].empty()) {
    for (const json& a : cfg["architectures"]) {
      if (!a.is_string()) continue;
      const auto name = a.get<std::string>();
      listed += (listed.empty() ? "" : ", ") + name;
      for (const auto& k : kKnown)
        if (!found && name == k.hf_class) {
          out.arch = k.arch;
          out.hf_architecture = name;
          found = true;
        }
    }
  } else {
    for (const auto& k : kKnown)
      if (out.model_type == k.model_type) {
        out.arch = k.arch;
        out.hf_architecture = k.hf_class;
        found = true;
      }
  }
  if (!found)
    fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": unsupported architecture '" +
                                      (listed.empty() ? std::string("?") : listed) + "' (model_type '" +
                                      out.model_type + "'); supported: " + supported_architectures());
  if (out.model_type.empty()) out.model_type = arch_name(out.arch);

  out.hidden_size = get_u32(cfg, file, "hidden_size", std::nullopt);
  out.num_layers = get_u32(cfg, file, "num_hidden_layers", std::nullopt);
  out.num_heads = get_u32(cfg, file, "num_attention_heads", std::nullopt);
  out.vocab_size = get_u32(cfg, file, "vocab_size", std::nullopt);
  out.intermediate_size = get_u32(cfg, file, "intermediate_size", std::nullopt);
  out.num_kv_heads = get_u32(cfg, file, "num_key_value_heads", out.num_heads);
  if (out.num_heads % out.num_kv_heads != 0)
    config_error(file, "num_attention_heads (" + std::to_string(out.num_heads) +
                           ") is not a multiple of num_key_value_heads (" + std::to_string(out.num_kv_heads) + ")");
  if (!has_value(cfg, "head_dim") && out.hidden_size % out.num_heads != 0)
    config_error(file, "hidden_size (" + std::to_string(out.hidden_size) + ") is not a multiple of num_attention_heads (" +
                           std::to_string(out.num_heads) + ") and there is no \"head_dim\"");
  out.head_dim = get_u32(cfg, file, "head_dim", out.hidden_size / out.num_heads);
  if (out.head_dim % 2 != 0) config_error(file, "head_dim " + std::to_string(out.head_dim) + " is odd; RoPE needs pairs");

  out.rms_norm_eps = get_positive_float(cfg, file, "rms_norm_eps", 1e-6f);
  out.rope_theta = get_positive_float(cfg, file, "rope_theta", 10000.0f);
  out.max_position_embeddings =
      get_u32(cfg, file, "max_position_embeddings", out.arch == ModelArch::qwen2 ? 32768u : 2048u);
  out.tie_word_embeddings = get_bool(cfg, file, "tie_word_embeddings", false);
  read_rope_scaling(cfg, file, out);

  if (has_value(cfg, "hidden_act") && cfg["hidden_act"] != "silu")
    fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": hidden_act " + cfg["hidden_act"].dump() + " is not supported (silu only)");
  switch (out.arch) {
    case ModelArch::qwen2:
      out.has_qkv_bias = true;  // Qwen2's q/k/v projections always carry a bias
      break;
    case ModelArch::llama:
      if (get_bool(cfg, file, "attention_bias", false))
        fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": attention_bias=true (bias on o_proj) is not supported");
      if (get_bool(cfg, file, "mlp_bias", false))
        fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": mlp_bias=true is not supported");
      break;
    case ModelArch::internlm2:
      // InternLM2's `bias` puts biases on wqkv and wo; the canonical description has no wo bias.
      if (get_bool(cfg, file, "bias", false))
        fail(LMRT_STATUS_UNSUPPORTED, file.string() + ": bias=true (biases on wqkv and wo) is not supported");
      break;
  }

  const auto bos = get_token_ids(cfg, file, "bos_token_id");
  if (!bos.empty()) out.bos_token_id = bos.front();
  out.eos_token_ids = get_token_ids(cfg, file, "eos_token_id");

  const auto gen_file = dir / "generation_config.json";
  if (std::filesystem::exists(gen_file)) {
    const json gen = read_json_file(gen_file);
    auto eos = get_token_ids(gen, gen_file, "eos_token_id");
    for (int32_t id : out.eos_token_ids)
      if (std::find(eos.begin(), eos.end(), id) == eos.end()) eos.push_back(id);
    out.eos_token_ids = std::move(eos);
    const auto gen_bos = get_token_ids(gen, gen_file, "bos_token_id");
    if (!out.bos_token_id && !gen_bos.empty()) out.bos_token_id = gen_bos.front();
  }
  return out;
}

}  // namespace lmrt
