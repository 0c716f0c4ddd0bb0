// A Llama-family model with random weights, described by hand as the core would
// (canonical names, model.h), with the fp32 values the engine should see kept
// for the reference forward.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lmrt/model.h"

namespace cpu_test {

struct ModelSpec {
  uint32_t vocab_size = 20;
  uint32_t hidden_size = 32;
  uint32_t intermediate_size = 44;  // not a multiple of 8: exercises the dot-product tail
  uint32_t num_layers = 2;
  uint32_t num_heads = 4;
  uint32_t num_kv_heads = 2;
  uint32_t head_dim = 8;
  bool qkv_bias = false;
  bool tied_embeddings = false;
  uint32_t rope_scaling_type = LMRT_ROPE_SCALING_NONE;
  float rope_scaling_factor = 1.f;
  uint32_t original_max_position_embeddings = 64;
  float rope_theta = 10000.f;
  float rms_norm_eps = 1e-5f;
  lmrt_dtype weight_dtype = LMRT_DTYPE_F32;
  float weight_scale = 1.f;  // multiplies the default 1/sqrt(fan_in) scale
  uint64_t seed = 1;
};

struct TensorData {
  std::vector<int64_t> shape;
  std::vector<float> values;  // what the engine should see after widening to fp32
  std::vector<uint8_t> bytes; // the stored bytes, in weight_dtype
  lmrt_dtype dtype = LMRT_DTYPE_F32;
};

class RandomModel {
 public:
  explicit RandomModel(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  const std::vector<float>& values(const std::string& name) const { return tensors_.at(name).values; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }

  // The description with views into this object's storage. `views()` may be
  // edited by a test before calling desc() again (e.g. to break a shape).
  const lmrt_model_desc& desc();
  std::vector<lmrt_tensor_view>& views() { return views_; }

 private:
  void add(const std::string& name, std::vector<int64_t> shape, double scale, double offset);
  void build_views();

  ModelSpec spec_;
  std::map<std::string, TensorData> tensors_;
  std::vector<lmrt_tensor_view> views_;
  lmrt_model_desc desc_{};
};

// Independent decoders for the reduced-precision formats (used to build TensorData.values).
float decode_f16(uint16_t bits);
float decode_bf16(uint16_t bits);

}  // namespace cpu_test
