// The model on the device: every weight in the engine's dtype (fp16 or bf16) in one arena,
// q/k/v and gate/up fused into one matrix each so one GEMM computes them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "device_memory.hpp"
#include "kernels/kernels.hpp"
#include "lmrt/model.h"
#include "tensor_dtype.hpp"

namespace lmrt::tm {

struct ModelShape {
  uint32_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_layers = 0;
  uint32_t num_heads = 0, num_kv_heads = 0, head_dim = 0;
  bool has_qkv_bias = false;
  float rms_norm_eps = 0.f;
  uint32_t rope_scaling_type = LMRT_ROPE_SCALING_NONE;
  float rope_theta = 0.f, rope_scaling_factor = 1.f;
  uint32_t original_max_position_embeddings = 0;

  size_t q_rows() const { return size_t(num_heads) * head_dim; }
  size_t kv_rows() const { return size_t(num_kv_heads) * head_dim; }
  size_t qkv_rows() const { return q_rows() + 2 * kv_rows(); }
};

struct LayerWeights {
  const void* attention_norm;  // [hidden]
  const void* wqkv;            // [q_rows + 2 kv_rows, hidden]: wq, wk, wv rows
  const void* bqkv;            // [q_rows + 2 kv_rows] or NULL
  const void* wo;              // [hidden, q_rows]
  const void* ffn_norm;        // [hidden]
  const void* w13;             // [2 intermediate, hidden]: w1 (gate) rows, then w3 (up)
  const void* w2;              // [hidden, intermediate]
};

class DeviceModel {
 public:
  // Validates the description (sizes, every tensor's presence, dtype and shape) and uploads it,
  // converting on the device. `dtype` is "auto", "float16" or "bfloat16". Throws
  // lmrt::plugin::Error: MODEL_ERROR for a bad description, UNSUPPORTED for an unsupported
  // shape, OUT_OF_MEMORY with the bytes needed and free.
  DeviceModel(const lmrt_model_desc& desc, const std::string& dtype, cudaStream_t stream);

  ModelShape shape;
  DType dtype = DType::kF16;
  const void* tok_embeddings = nullptr;  // [vocab, hidden]
  const void* norm = nullptr;            // [hidden]
  const void* output = nullptr;          // [vocab, hidden] (the embedding when tied)
  std::vector<LayerWeights> layers;
  uint64_t bytes() const { return arena_.bytes(); }
  std::string dtype_name() const { return dtype == DType::kF16 ? "float16" : "bfloat16"; }

 private:
  DeviceBuffer arena_;
};

}  // namespace lmrt::tm
