#include "tokenizer/tokenizer_config.hpp"

#include <fstream>
#include <sstream>

#include "lmrt/core/error.hpp"

namespace lmrt {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& key, const std::string& what) {
  fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": key '" + key + "' " + what);
}

// A special token is either a string or an AddedToken object {"content": ...}; null = none.
std::optional<std::string> token_text(const json& j, const std::filesystem::path& file, const std::string& key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  bad(file, key, "must be a string or an object with a string 'content'");
}

std::optional<bool> flag(const json& j, const std::filesystem::path& file, const std::string& key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  if (!j[key].is_boolean()) bad(file, key, "must be true or false");
  return j[key].get<bool>();
}

}  // namespace

json read_json_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(LMRT_STATUS_IO_ERROR, "cannot read '" + file.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": malformed JSON: " + e.what());
  }
}

TokenizerConfig TokenizerConfig::read(const std::filesystem::path& model_dir) {
  TokenizerConfig c;
  const auto file = model_dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return c;
  const json j = read_json_file(file);
  try {
    read_into(c, j, file);
  } catch (const json::exception& e) {
    fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": unexpected value: " + e.what());
  }
  return c;
}

void TokenizerConfig::read_into(TokenizerConfig& c, const nlohmann::json& j, const std::filesystem::path& file) {
  if (!j.is_object()) fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": expected a JSON object");
  c.add_bos_token = flag(j, file, "add_bos_token");
  c.add_eos_token = flag(j, file, "add_eos_token");
  c.bos_token = token_text(j, file, "bos_token");
  c.eos_token = token_text(j, file, "eos_token");
  c.unk_token = token_text(j, file, "unk_token");
  c.pad_token = token_text(j, file, "pad_token");
  if (j.contains("tokenizer_class") && j["tokenizer_class"].is_string()) c.tokenizer_class = j["tokenizer_class"].get<std::string>();
  if (j.contains("added_tokens_decoder")) {
    const json& d = j["added_tokens_decoder"];
    if (!d.is_object()) bad(file, "added_tokens_decoder", "must be an object of id -> token");
    for (const auto& [key, v] : d.items()) {
      AddedToken t;
      try {
        std::size_t used = 0;
        t.id = std::stoi(key, &used);
        if (used != key.size() || t.id < 0) throw std::invalid_argument(key);
      } catch (const std::exception&) {
        bad(file, "added_tokens_decoder." + key, "is not a token id");
      }
      if (!v.is_object() || !v.contains("content") || !v["content"].is_string()) {
        bad(file, "added_tokens_decoder." + key, "must be an object with a string 'content'");
      }
      t.content = v["content"].get<std::string>();
      t.special = v.value("special", false);
      t.lstrip = v.value("lstrip", false);
      t.rstrip = v.value("rstrip", false);
      c.added_tokens_decoder.push_back(std::move(t));
    }
  }
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    for (const json& v : j["additional_special_tokens"]) {
      if (v.is_string()) c.additional_special_tokens.push_back(v.get<std::string>());
      else if (v.is_object() && v.contains("content")) c.additional_special_tokens.push_back(v["content"].get<std::string>());
    }
  }
  if (j.contains("chat_template")) {
    const json& t = j["chat_template"];
    if (t.is_string()) {
      c.chat_template = t.get<std::string>();
    } else if (t.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : t) {
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template")) c.chat_template = e["template"].get<std::string>();
      }
      if (!c.chat_template && !t.empty() && t[0].is_object() && t[0].contains("template")) {
        c.chat_template = t[0]["template"].get<std::string>();
      }
    } else if (!t.is_null()) {
      bad(file, "chat_template", "must be a string or a list of {name, template}");
    }
  }
}

}  // namespace lmrt
