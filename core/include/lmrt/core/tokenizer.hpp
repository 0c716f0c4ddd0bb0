// Tokenizers: text <-> token ids for a Hugging Face model folder (docs/tokenizers.md).
//
// Tokenizer::load picks the format: tokenizer.model through the sentencepiece library when
// present, else tokenizer.json (BPE: sentencepiece-style with byte fallback, or byte-level
// with the GPT-2 / Qwen2 / Llama 3 pre-tokenizer). tokenizer_config.json adds special tokens,
// renames ids (InternLM2's <|im_start|> ...) and sets the BOS/EOS rules.
//
// Text rules shared by every format:
//  - Invalid UTF-8 given to encode: each invalid byte is replaced by U+FFFD before encoding.
//  - Added and special tokens are matched in the input text before normal segmentation,
//    leftmost first and longest first; encode(..., add_special_tokens) only controls BOS/EOS.
//  - decode concatenates each token's bytes (token_bytes), drops one leading space of the
//    first text token when the format says so (strips_leading_space, sentencepiece's dummy
//    prefix), and replaces each byte that is not part of valid UTF-8 by U+FFFD.
//
// Thread-safety: all const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmrt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Loads the tokenizer of a model folder. Throws lmrt::Error: NOT_FOUND when neither
  // tokenizer.model nor tokenizer.json exists, MODEL_ERROR for malformed files,
  // UNSUPPORTED for tokenizer.json components this implementation does not know.
  static std::unique_ptr<Tokenizer> load(const std::filesystem::path& model_dir);

  // Token ids of `text`; with add_special_tokens, BOS (and EOS) per add_bos()/add_eos().
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const = 0;

  // Text of `ids` (always valid UTF-8). Throws INVALID_ARGUMENT naming an id outside
  // [0, vocab_size()).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens) const;

  // One more than the largest id (model vocabulary and added tokens).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> bos_id() const = 0;
  // The tokenizer's EOS (tokenizer_config.json eos_token, else the model's); the model's
  // generation_config.json may add more stop ids, which is not the tokenizer's business.
  virtual std::vector<int32_t> eos_ids() const = 0;
  // Whether encode(text, true) prepends bos_id() / appends the EOS.
  virtual bool add_bos() const = 0;
  virtual bool add_eos() const = 0;

  // Special tokens (control tokens, <unk>, added tokens marked special) are dropped by
  // decode(..., skip_special_tokens=true).
  virtual bool is_special(int32_t id) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view piece) const = 0;
  // The vocabulary entry of `id` as stored (e.g. "▁Hello", "<0x0A>", "Ġworld", "<|im_end|>").
  virtual std::string id_to_piece(int32_t id) const = 0;

  // The bytes `id` contributes to text in the middle of a decode: "▁Hello" -> " Hello",
  // "<0xE4>" -> one byte, byte-level "Ġ" -> " ", an added token -> its content. May be
  // incomplete UTF-8. Throws INVALID_ARGUMENT for an out-of-range id.
  virtual std::string token_bytes(int32_t id) const = 0;
  // True when a decode from scratch drops one leading space of its first text token.
  virtual bool strips_leading_space() const = 0;

  // Throws INVALID_ARGUMENT naming `id` when it is outside [0, vocab_size()).
  void check_id(int32_t id) const;
};

}  // namespace lmrt
