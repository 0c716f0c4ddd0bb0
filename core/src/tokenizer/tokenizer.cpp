#include "lmrt/core/tokenizer.hpp"

#include "lmrt/core/error.hpp"
#include "tokenizer/tokenizer_formats.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt {

std::unique_ptr<Tokenizer> Tokenizer::load(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) {
    fail(LMRT_STATUS_NOT_FOUND, "tokenizer: model folder '" + model_dir.string() + "' does not exist");
  }
  if (std::filesystem::exists(model_dir / "tokenizer.model", ec)) return tokenizer_formats::load_sentencepiece(model_dir);
  if (std::filesystem::exists(model_dir / "tokenizer.json", ec)) return tokenizer_formats::load_hf_json(model_dir);
  fail(LMRT_STATUS_NOT_FOUND,
       "tokenizer: '" + model_dir.string() + "' has neither tokenizer.model nor tokenizer.json");
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    fail(LMRT_STATUS_INVALID_ARGUMENT,
         "token id " + std::to_string(id) + " is out of range [0, " + std::to_string(vocab_size()) + ")");
  }
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  for (int32_t id : ids) check_id(id);
  std::string bytes;
  bool at_start = true;
  for (int32_t id : ids) {
    const bool special = is_special(id);
    if (special && skip_special_tokens) continue;
    std::string b = token_bytes(id);
    if (b.empty()) continue;
    if (at_start && !special && b[0] == ' ' && strips_leading_space()) b.erase(0, 1);
    at_start = false;
    bytes += b;
  }
  return utf8::sanitize(bytes);
}

}  // namespace lmrt
