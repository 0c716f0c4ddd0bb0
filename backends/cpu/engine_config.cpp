#include "engine_config.hpp"

#include <yaml-cpp/yaml.h>

#include <thread>

#include "lmrt/plugin.hpp"

namespace lmrt::cpu {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void config_error(const YAML::Mark& mark, const std::string& message) {
  std::string where = mark.is_null() ? "" : " (line " + std::to_string(mark.line + 1) + ")";
  throw Error(LMRT_STATUS_CONFIG_ERROR, "cpu engine: " + message + where);
}

YAML::Node load_map(std::string_view yaml, const char* what) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    config_error(e.mark, std::string(what) + " is not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) config_error(root.Mark(), std::string(what) + " must be a mapping");
  return root;
}

}  // namespace

EngineConfig parse_engine_config(std::string_view yaml) {
  EngineConfig config;
  const YAML::Node root = load_map(yaml, "the engine section");
  if (const YAML::Node n = root["num_threads"]; n && !n.IsNull()) {
    long long value = -1;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value) || value < 0 || value > 4096)
      config_error(n.Mark(), "engine.num_threads must be an integer in [0, 4096] (0 = all hardware threads), got '" +
                                 (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "'");
    config.num_threads = static_cast<unsigned>(value);
  }
  if (const YAML::Node n = root["dtype"]; n && !n.IsNull()) {
    const std::string value = n.IsScalar() ? n.Scalar() : std::string();
    if (value != "auto" && value != "float32" && value != "float16" && value != "bfloat16")
      config_error(n.Mark(), "engine.dtype '" + value + "' is not one of auto, float32, float16, bfloat16");
    config.dtype = value;
  }
  if (const YAML::Node n = root["tp"]; n && !n.IsNull()) {
    long long value = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value) || value < 1 || value > 64)
      config_error(n.Mark(), "engine.tp must be an integer in [1, 64], got '" +
                                 (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "'");
    config.tp = static_cast<unsigned>(value);
  }
  // Nothing is ignored silently: the cpu engine keeps its KV cache in fp32.
  if (const YAML::Node n = root["quant_policy"]; n && !n.IsNull()) {
    long long value = -1;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value))
      config_error(n.Mark(), "engine.quant_policy must be 0, 4 or 8, got '" +
                                 (n.IsScalar() ? n.Scalar() : std::string("a non-scalar")) + "'");
    if (value != 0)
      throw Error(LMRT_STATUS_UNSUPPORTED, "cpu engine: engine.quant_policy " + std::to_string(value) +
                                               " (an int" + std::to_string(value) +
                                               " KV cache) is not supported by the cpu engine yet; use quant_policy 0");
  }
  return config;
}

std::string probe_model_format(std::string_view yaml) {
  const YAML::Node root = load_map(yaml, "the probe request");
  const YAML::Node model = root["model"];
  if (!model || model.IsNull()) return "hf";
  if (!model.IsMap()) config_error(model.Mark(), "model must be a mapping");
  const YAML::Node format = model["format"];
  if (!format || format.IsNull()) return "hf";
  if (!format.IsScalar()) config_error(format.Mark(), "model.format must be a string");
  return format.Scalar();
}

unsigned resolve_num_threads(unsigned requested) {
  if (requested > 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? hw : 1;
}

}  // namespace lmrt::cpu
