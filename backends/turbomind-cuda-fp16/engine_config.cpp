#include "engine_config.hpp"

#include <yaml-cpp/yaml.h>

#include "lmrt/plugin.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void config_error(const YAML::Mark& mark, const std::string& message) {
  std::string where = mark.is_null() ? "" : " (line " + std::to_string(mark.line + 1) + ")";
  throw Error(LMRT_STATUS_CONFIG_ERROR, "turbomind-cuda-fp16: " + message + where);
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
  EngineConfig c;
  const YAML::Node root = load_map(yaml, "the engine section");
  if (const YAML::Node n = root["dtype"]; n && !n.IsNull()) {
    const std::string v = n.IsScalar() ? n.Scalar() : std::string();
    if (v == "float32")
      throw Error(LMRT_STATUS_UNSUPPORTED,
                  "turbomind-cuda-fp16: engine.dtype float32 is not supported (use auto, float16 or bfloat16, or --backend cpu)");
    if (v != "auto" && v != "float16" && v != "bfloat16")
      config_error(n.Mark(), "engine.dtype '" + v + "' is not one of auto, float16, bfloat16");
    c.dtype = v;
  }
  if (const YAML::Node n = root["device_id"]; n && !n.IsNull()) {
    long long v = -1;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || v < 0 || v > 1024)
      config_error(n.Mark(), "engine.device_id must be a device index >= 0");
    c.device_id = static_cast<int>(v);
  }
  if (const YAML::Node n = root["tp"]; n && !n.IsNull()) {
    long long v = 0;
    if (!n.IsScalar() || !YAML::convert<long long>::decode(n, v) || v < 1 || v > 64)
      config_error(n.Mark(),
                   "engine.tp must be an integer in [1, 64], got '" + (n.IsScalar() ? n.Scalar() : std::string()) + "'");
    c.tp = static_cast<int>(v);
  }
  if (const YAML::Node n = root["quant_policy"]; n && !n.IsNull()) {
    long long v = 0;
    if (n.IsScalar() && YAML::convert<long long>::decode(n, v) && v != 0)
      throw Error(LMRT_STATUS_UNSUPPORTED, "turbomind-cuda-fp16: engine.quant_policy " + std::to_string(v) +
                                               " (quantized KV cache) is not supported yet; use 0");
  }
  return c;
}

std::string probe_model_format(std::string_view yaml) {
  const YAML::Node root = load_map(yaml, "the probe request");
  const YAML::Node model = root["model"];
  if (!model || model.IsNull() || !model.IsMap()) return "hf";
  const YAML::Node format = model["format"];
  if (!format || format.IsNull() || !format.IsScalar()) return "hf";
  return format.Scalar();
}

}  // namespace lmrt::tm
