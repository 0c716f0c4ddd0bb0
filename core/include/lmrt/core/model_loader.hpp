// Loading a Hugging Face model folder into the canonical description that
// engines receive (sdk/include/lmrt/model.h).
//
//   lmrt::LoadedModel m = lmrt::load_model("/models/internlm2-chat-7b", {});
//   const lmrt_model_desc& d = m.desc();
//   const lmrt_tensor_view* wq = lmrt::find_tensor(d, "layers.0.attention.wq");
//
// Tensors keep the checkpoint's dtype (f32, f16 or bf16, possibly mixed per
// tensor). Where no conversion is needed a view points straight into the
// mmapped safetensors data; InternLM2's fused wqkv is de-interleaved into
// buffers the LoadedModel owns. See docs/models.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lmrt/core/hf_config.hpp"
#include "lmrt/model.h"

namespace lmrt {

struct ModelLoadOptions {
  // LMDeploy's --rope-scaling-factor. 0 (the default) keeps the config's RoPE.
  // > 0: when config.json has no rope_scaling, use dynamic NTK scaling with this
  // factor; when it has one, keep its type and replace its factor. Negative or
  // non-finite values are an INVALID_ARGUMENT error.
  float rope_scaling_factor = 0.0f;
};

// A loaded model: owns the mapped files and converted buffers that desc() points
// into. Move-only; moving keeps every pointer of desc() valid.
class LoadedModel {
 public:
  LoadedModel();
  ~LoadedModel();
  LoadedModel(LoadedModel&&) noexcept;
  LoadedModel& operator=(LoadedModel&&) noexcept;
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;

  const lmrt_model_desc& desc() const;
  const HfConfig& config() const;
  const std::filesystem::path& dir() const;
  // The model folder's name, e.g. "internlm2-chat-7b".
  const std::string& name() const;
  // Canonical architecture: "llama", "internlm2" or "qwen2" (== desc().architecture).
  const char* architecture() const;
  // The config's class name, e.g. "InternLM2ForCausalLM".
  const std::string& hf_architecture() const;
  const std::string& model_type() const;
  uint32_t max_position_embeddings() const;
  std::optional<int32_t> bos_token_id() const;
  const std::vector<int32_t>& eos_token_ids() const;

  // nullptr when absent.
  const lmrt_tensor_view* find(std::string_view canonical_name) const;

  struct Impl;  // opaque; defined in model_loader.cpp

 private:
  std::unique_ptr<Impl> impl_;
  friend LoadedModel load_model(const std::filesystem::path&, const ModelLoadOptions&);
};

// Loads config.json, generation_config.json and the safetensors weights of `dir`.
// Checks that every canonical tensor exists with the shape the config implies and
// a float dtype. Throws lmrt::Error whose message names the file, the tensor or
// key, and (for shapes) the expected and actual shapes.
LoadedModel load_model(const std::filesystem::path& dir, const ModelLoadOptions& options = {});

// Looks a tensor up by canonical name in any description; nullptr when absent.
const lmrt_tensor_view* find_tensor(const lmrt_model_desc& desc, std::string_view name);
// Like find_tensor, but throws lmrt::Error(NOT_FOUND) naming the tensor.
const lmrt_tensor_view& require_tensor(const lmrt_model_desc& desc, std::string_view name);

// Number of elements of a view (product of its used dimensions).
uint64_t tensor_elements(const lmrt_tensor_view& view);
// Copies a float view (f32/f16/bf16) into f32 values.
std::vector<float> tensor_to_f32(const lmrt_tensor_view& view);

}  // namespace lmrt
