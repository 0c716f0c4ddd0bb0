// Tiny random-weight models in real Hugging Face layouts, for tests and demos
// (the lmrt-make-tiny-model tool is a command line over write_tiny_model).
//
// Weights are drawn in canonical order (model.h names) from one deterministic
// generator seeded by `seed`, independently of the architecture, and then
// written in the architecture's layout. So the same spec with a different
// `arch` gives the same canonical tensors: llama and internlm2 load
// byte-identical, qwen2 adds its q/k/v biases (drawn from a separate stream)
// and otherwise matches too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lmrt/abi.h"
#include "lmrt/core/hf_config.hpp"
#include "lmrt/model.h"

namespace lmrt {

struct TinyModelSpec {
  ModelArch arch = ModelArch::llama;
  lmrt_dtype dtype = LMRT_DTYPE_F32;  // f32, f16 or bf16
  uint32_t hidden = 64;
  uint32_t layers = 2;
  uint32_t heads = 4;
  uint32_t kv_heads = 2;
  uint32_t head_dim = 0;  // 0: hidden / heads (and not written to config.json)
  uint32_t intermediate = 128;
  uint32_t vocab = 256;
  bool tie = false;  // tie_word_embeddings: no lm_head/output tensor is written
  int shards = 1;    // > 1: model-0000i-of-0000N.safetensors + model.safetensors.index.json
  uint64_t seed = 0;
  float std = 0.02f;  // weights ~ N(0, std); norm weights ~ 1 + N(0, 0.1)
  uint32_t max_position_embeddings = 512;
  float rope_theta = 10000.0f;
  float rms_norm_eps = 1e-5f;
  lmrt_rope_scaling rope_scaling = LMRT_ROPE_SCALING_NONE;
  float rope_scaling_factor = 1.0f;
  int32_t bos_token_id = 1;
  int32_t eos_token_id = 2;
  // When set, every file of this folder except model files (config.json,
  // generation_config.json, *.safetensors, *.index.json) is copied.
  std::filesystem::path tokenizer_dir;
};

// Writes config.json, generation_config.json and the safetensors weights of a
// random model into `dir` (created if needed). Throws lmrt::Error
// (INVALID_ARGUMENT) for an inconsistent spec, naming the field.
void write_tiny_model(const std::filesystem::path& dir, const TinyModelSpec& spec);

// Parses "llama" | "internlm2" | "qwen2"; throws INVALID_ARGUMENT listing them.
ModelArch parse_arch(const std::string& name);
// Parses "f32" | "f16" | "bf16" (also "float32", "float16", "bfloat16").
lmrt_dtype parse_float_dtype(const std::string& name);

}  // namespace lmrt
