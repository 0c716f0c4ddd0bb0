// tokenizer_config.json as far as tokenization needs it (special tokens, BOS/EOS rules,
// added_tokens_decoder, chat_template), plus a JSON file reader with clear errors.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/added_vocabulary.hpp"

namespace lmrt {

// Parses a JSON file; throws MODEL_ERROR naming the file on a syntax error, IO_ERROR if it
// cannot be read.
nlohmann::json read_json_file(const std::filesystem::path& file);

struct TokenizerConfig {
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token;
  std::vector<AddedToken> added_tokens_decoder;  // in file order
  std::vector<std::string> additional_special_tokens;
  std::optional<std::string> tokenizer_class;  // e.g. "InternLM2Tokenizer"
  std::optional<std::string> chat_template;  // the default one when the file has several

  // Reads model_dir/tokenizer_config.json; an absent file gives an empty config. Wrong
  // types are MODEL_ERROR naming the file and key.
  static TokenizerConfig read(const std::filesystem::path& model_dir);

 private:
  static void read_into(TokenizerConfig& c, const nlohmann::json& j, const std::filesystem::path& file);
};

}  // namespace lmrt
