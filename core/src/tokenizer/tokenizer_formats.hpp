// The tokenizer formats Tokenizer::load chooses between (one .cpp each).
#pragma once

#include <filesystem>
#include <memory>

#include "lmrt/core/tokenizer.hpp"

namespace lmrt::tokenizer_formats {

// tokenizer.model (+ tokenizer_config.json) through the sentencepiece library.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model_dir);
// tokenizer.json (+ tokenizer_config.json), Hugging Face `tokenizers` BPE.
std::unique_ptr<Tokenizer> load_hf_json(const std::filesystem::path& model_dir);

}  // namespace lmrt::tokenizer_formats
