// ChatTemplate::detect: which built-in template a model folder wants.
#include <algorithm>

#include "lmrt/core/chat_template.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "tokenizer/tokenizer_config.hpp"

namespace lmrt {
namespace {

bool contains(const std::string& s, std::string_view what) { return s.find(what) != std::string::npos; }

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::string ChatTemplate::detect(const std::filesystem::path& model_dir) {
  // The model family: config.json model_type and architectures, and tokenizer_class, lower-cased.
  std::string family;
  std::error_code ec;
  const auto config_file = model_dir / "config.json";
  if (std::filesystem::exists(config_file, ec)) {
    const nlohmann::json config = read_json_file(config_file);
    if (config.is_object()) {
      if (config.contains("model_type") && config["model_type"].is_string()) family += config["model_type"].get<std::string>();
      if (config.contains("architectures") && config["architectures"].is_array()) {
        for (const auto& a : config["architectures"]) {
          if (a.is_string()) family.append(" ").append(a.get<std::string>());
        }
      }
    }
  }
  const TokenizerConfig tok = TokenizerConfig::read(model_dir);
  family = lower(family + " " + tok.tokenizer_class.value_or(""));
  const std::string text = tok.chat_template.value_or("");

  if (text.empty()) return "raw";  // a base model: no chat markup
  if (contains(text, "<|start_header_id|>")) return "llama3";
  if (contains(text, "<|im_start|>")) return contains(family, "internlm2") ? "internlm2" : "qwen2";
  if (contains(text, "[INST]")) return "llama2";
  if (contains(text, "USER:") && contains(text, "ASSISTANT:")) return "vicuna";
  log::write(LMRT_LOG_WARN, "chat",
             "the chat_template of '" + model_dir.string() + "' matches no built-in template; using raw");
  return "raw";
}

}  // namespace lmrt
