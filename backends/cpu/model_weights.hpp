// The model as the cpu engine keeps it: every weight widened to fp32, the q/k/v
// and gate/up projections fused so one pass over the input computes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lmrt/model.h"

namespace lmrt::cpu {

struct ModelShape {
  uint32_t vocab_size = 0;
  uint32_t hidden_size = 0;
  uint32_t intermediate_size = 0;
  uint32_t num_layers = 0;
  uint32_t num_heads = 0;
  uint32_t num_kv_heads = 0;
  uint32_t head_dim = 0;
  bool has_qkv_bias = false;
  float rms_norm_eps = 0.f;
  uint32_t rope_scaling_type = LMRT_ROPE_SCALING_NONE;
  float rope_theta = 0.f;
  float rope_scaling_factor = 1.f;
  uint32_t original_max_position_embeddings = 0;

  size_t q_rows() const { return size_t(num_heads) * head_dim; }
  size_t kv_rows() const { return size_t(num_kv_heads) * head_dim; }
  size_t qkv_rows() const { return q_rows() + 2 * kv_rows(); }
};

struct LayerWeights {
  std::vector<float> attention_norm;  // [hidden]
  std::vector<float> wqkv;            // [q_rows + 2 kv_rows, hidden]: wq rows, then wk, then wv
  std::vector<float> bqkv;            // [q_rows + 2 kv_rows] or empty
  std::vector<float> wo;              // [hidden, q_rows]
  std::vector<float> ffn_norm;        // [hidden]
  std::vector<float> w13;             // [2 intermediate, hidden]: w1 (gate) rows, then w3 (up)
  std::vector<float> w2;              // [hidden, intermediate]
};

struct ModelWeights {
  ModelShape shape;
  std::vector<float> tok_embeddings;  // [vocab, hidden]
  std::vector<float> norm;            // [hidden]
  std::vector<float> output_storage;  // [vocab, hidden]; empty when tied to tok_embeddings
  std::vector<LayerWeights> layers;

  const float* output() const { return output_storage.empty() ? tok_embeddings.data() : output_storage.data(); }
  uint64_t bytes() const;
};

// Validates the description (sizes, every canonical tensor's presence, dtype and
// shape) and converts it. Throws lmrt::plugin::Error naming what is wrong.
ModelWeights load_model_weights(const lmrt_model_desc& desc);

}  // namespace lmrt::cpu
