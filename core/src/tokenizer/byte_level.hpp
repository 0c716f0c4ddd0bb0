// GPT-2's byte-to-unicode map used by byte-level BPE (Qwen2, Llama 3): every byte becomes
// a printable character so that BPE runs on text; decoding maps the characters back.
#pragma once

#include <string>
#include <string_view>

namespace lmrt::byte_level {

// Each byte of `bytes` as its mapped character (UTF-8).
std::string encode(std::string_view bytes);
// Inverse of encode; characters outside the map are kept as they are (as HF does).
std::string decode(std::string_view chars);

}  // namespace lmrt::byte_level
