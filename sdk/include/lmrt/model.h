/*
 * The canonical model description an engine receives from the core.
 *
 * The core reads Hugging Face folders (config.json, safetensors, tokenizer) and
 * maps every supported architecture onto one decoder-only transformer with one
 * naming scheme, so that architecture quirks are handled once, in core:
 *  - InternLM2's fused, group-interleaved `wqkv` is split into wq/wk/wv;
 *  - Qwen2's q/k/v biases appear as bq/bk/bv;
 *  - tied embeddings appear as an `output` view of the embedding data.
 *
 * Canonical tensor names (PyTorch Linear layout: [out_features, in_features],
 * row-major; RoPE in the rotate-half pairing (i, i + head_dim/2) that Hugging
 * Face checkpoints use):
 *   tok_embeddings                        [vocab_size, hidden_size]
 *   norm                                  [hidden_size]                 final RMSNorm
 *   output                                [vocab_size, hidden_size]     LM head
 *   layers.N.attention_norm               [hidden_size]
 *   layers.N.attention.wq                 [num_heads * head_dim, hidden_size]
 *   layers.N.attention.wk                 [num_kv_heads * head_dim, hidden_size]
 *   layers.N.attention.wv                 [num_kv_heads * head_dim, hidden_size]
 *   layers.N.attention.wo                 [hidden_size, num_heads * head_dim]
 *   layers.N.attention.bq|bk|bv           [rows of wq|wk|wv]     only if has_qkv_bias
 *   layers.N.ffn_norm                     [hidden_size]
 *   layers.N.feed_forward.w1              [intermediate_size, hidden_size]  gate
 *   layers.N.feed_forward.w3              [intermediate_size, hidden_size]  up
 *   layers.N.feed_forward.w2              [hidden_size, intermediate_size]  down
 * Quantized formats (a later minor version) add suffixed tensors such as
 * `layers.N.attention.wq.qweight`; `format` says which scheme applies.
 *
 * Lifetime: the description and every tensor view are borrowed for the
 * duration of lmrt_engine_api.create only. An engine copies (or converts, or
 * uploads) what it keeps.
 */
#ifndef LMRT_MODEL_H
#define LMRT_MODEL_H

#include "lmrt/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LMRT_MAX_TENSOR_DIMS 4

/* One named tensor: a borrowed, densely packed, row-major view. */
typedef struct lmrt_tensor_view {
  uint32_t struct_size;
  uint32_t dtype; /* lmrt_dtype */
  const char* name;
  uint32_t ndim;
  uint32_t reserved0; /* 0 */
  int64_t shape[LMRT_MAX_TENSOR_DIMS]; /* unused dimensions are 0 */
  const void* data;                    /* host memory (often an mmap of the file) */
  uint64_t nbytes;
} lmrt_tensor_view;

typedef enum lmrt_rope_scaling {
  LMRT_ROPE_SCALING_NONE = 0,
  LMRT_ROPE_SCALING_LINEAR = 1,  /* positions divided by factor */
  LMRT_ROPE_SCALING_DYNAMIC = 2  /* dynamic NTK: base grows once seq_len > original_max_position */
} lmrt_rope_scaling;

typedef struct lmrt_model_desc {
  uint32_t struct_size;
  uint32_t reserved0;
  const char* architecture; /* the source architecture: "llama", "internlm2", "qwen2" */
  const char* format;       /* weight format: "hf" (dense) */
  uint32_t vocab_size;
  uint32_t hidden_size;
  uint32_t intermediate_size;
  uint32_t num_layers;
  uint32_t num_heads;
  uint32_t num_kv_heads;
  uint32_t head_dim;
  uint32_t has_qkv_bias;        /* 1 if bq/bk/bv are present */
  uint32_t tie_word_embeddings; /* informational: `output` is present either way */
  uint32_t rope_scaling_type;   /* lmrt_rope_scaling */
  float rms_norm_eps;
  float rope_theta;
  float rope_scaling_factor;               /* 1 when no scaling */
  uint32_t original_max_position_embeddings; /* for dynamic NTK; the config's max_position_embeddings */
  uint32_t weight_dtype;                   /* lmrt_dtype of the checkpoint's floating weights */
  uint32_t quant_group_size;               /* 0 for dense formats */
  uint32_t num_tensors;
  uint32_t reserved1;
  const lmrt_tensor_view* tensors; /* num_tensors views, names unique */
} lmrt_model_desc;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_MODEL_H */
