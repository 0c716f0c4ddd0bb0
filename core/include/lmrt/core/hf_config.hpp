// The hyper-parameters of a Hugging Face model folder (config.json and
// generation_config.json) for the architectures lmrt supports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lmrt/model.h"

namespace lmrt {

// Source architectures, named as in lmrt_model_desc.architecture.
enum class ModelArch { llama, internlm2, qwen2 };

const char* arch_name(ModelArch arch);  // "llama", "internlm2", "qwen2"
// "LlamaForCausalLM, InternLM2ForCausalLM, Qwen2ForCausalLM": for error messages and docs.
const char* supported_architectures();

struct HfConfig {
  ModelArch arch = ModelArch::llama;
  std::string hf_architecture;  // e.g. "LlamaForCausalLM" (from `architectures`, or implied by model_type)
  std::string model_type;       // config's model_type, e.g. "llama"

  uint32_t vocab_size = 0;
  uint32_t hidden_size = 0;
  uint32_t intermediate_size = 0;
  uint32_t num_layers = 0;
  uint32_t num_heads = 0;
  uint32_t num_kv_heads = 0;  // num_key_value_heads; defaults to num_heads
  uint32_t head_dim = 0;      // config's head_dim, else hidden_size / num_heads
  float rms_norm_eps = 1e-6f;
  float rope_theta = 10000.0f;
  lmrt_rope_scaling rope_scaling = LMRT_ROPE_SCALING_NONE;
  float rope_scaling_factor = 1.0f;
  uint32_t max_position_embeddings = 2048;
  bool tie_word_embeddings = false;
  bool has_qkv_bias = false;  // Qwen2: always

  std::optional<int32_t> bos_token_id;
  // generation_config.json's eos ids first, then config.json's not already listed.
  std::vector<int32_t> eos_token_ids;
};

// Reads `dir`/config.json and, when present, `dir`/generation_config.json.
// Throws lmrt::Error(MODEL_ERROR) naming the file and key for a missing or
// mistyped required key (hidden_size, num_hidden_layers, num_attention_heads,
// vocab_size, intermediate_size), an invalid value or a bad rope_scaling;
// UNSUPPORTED for an unknown architecture (listing the supported ones) or a
// feature the canonical description cannot express (e.g. an o_proj bias);
// NOT_FOUND when config.json is absent.
HfConfig read_hf_config(const std::filesystem::path& dir);

}  // namespace lmrt
