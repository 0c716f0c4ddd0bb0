// Host-side launchers of the engine's kernels (kernels/README.md is the contract).
// Activations and weights are `DType` (fp16 or bf16) passed as void*; the residual
// stream, RoPE tables, logits and all reductions are fp32. Every launcher only
// enqueues work on `stream`; none synchronizes.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace lmrt::tm {

enum class DType : int { kF16 = 0, kBF16 = 1 };
inline size_t dtype_size(DType) { return 2; }

// Where the tokens of a step live, all device arrays (see kernels/README.md).
struct TokenLayout {
  const int32_t* token_pos;     // [T] position of each token
  const int32_t* token_seq;     // [T] batch index of each token
  const int32_t* table_offset;  // [S] first entry of each sequence's block table in `block_tables`
  const int32_t* block_tables;  // concatenated block tables
};

// The paged KV pool: block b holds [layer][K|V][kv_head][slot][head_dim] elements.
struct KvLayout {
  void* data;
  int num_layers, num_kv_heads, head_dim, block_seq_len;
};

// ---- embedding: out[t] = table[tokens[t]] widened to fp32 (the residual stream).
void launch_embedding(DType dt, const void* table, const int32_t* tokens, int num_tokens, int hidden, float* out,
                      cudaStream_t stream);

// ---- norm: for k < rows: r = row_ids ? row_ids[k] : k; if delta: x[r] += delta[r];
//      out[k] = x[r] / sqrt(mean(x[r]^2) + eps) * weight.
void launch_add_rms_norm(DType dt, float* x, const void* delta, const void* weight, const int32_t* row_ids, int rows,
                         int hidden, float eps, void* out, cudaStream_t stream);

// ---- rope: cos/sin tables [T][head_dim/2] from positions and a per-sequence base (double math,
//      rounded to fp32 once, as the cpu engine does); linear scaling divides positions by `linear_factor`.
void launch_rope_table(const int32_t* token_pos, const int32_t* token_seq, const double* seq_base, int num_tokens,
                       int head_dim, double linear_factor, float* cos_out, float* sin_out, cudaStream_t stream);

// Adds the q/k/v bias (if any), rotates q and k in place in `qkv` ([T][(H + 2 KVH) * head_dim]),
// and writes the rotated k and v into the paged pool for `layer`.
void launch_rope_kv_write(DType dt, void* qkv, const void* bias, const float* cos_t, const float* sin_t, int num_tokens,
                          int num_heads, const TokenLayout& tokens, const KvLayout& kv, int layer, cudaStream_t stream);

// ---- attention: causal over [0, pos] of each token's sequence, GQA; reads q from `qkv`, writes [T][H * head_dim].
// Tokens come in groups of consecutive tokens of one sequence: group k is tokens [group_first[k],
// group_first[k + 1]) (a device array of num_groups + 1 entries), each group at most kMaxAttentionGroup tokens
// and `max_group` the longest. A group shares its K/V reads; each token's result does not depend on its group.
inline constexpr int kMaxAttentionGroup = 8;
void launch_paged_attention(DType dt, const void* qkv, int num_groups, int max_group, int num_heads,
                            const TokenLayout& tokens, const int32_t* group_first, const KvLayout& kv, int layer,
                            void* out, cudaStream_t stream);

// ---- chunked attention (opt-in: LMRT_TM_ATTENTION_CHUNK): the same semantics, with each token's keys cut into
// chunks of `chunk` positions (a multiple of 128) whose partials are combined in order. A work item is a group
// and either all its chunks (chunk = -1) or one chunk of a one-token group, whose partial goes to row `partial`
// of `partials` ([rows][num_heads][head_dim + 2] floats); each split token then has an AttentionSplit naming its
// first row and chunk count, and a second kernel combines them. Splitting changes no bit of a result.
struct AttentionWork {
  int32_t group, chunk, partial;
};
struct AttentionSplit {
  int32_t token, partial, num_chunks;
};
void launch_chunked_attention(DType dt, const void* qkv, int num_items, int max_group, int num_heads,
                              const TokenLayout& tokens, const int32_t* group_first, const AttentionWork* work,
                              const AttentionSplit* splits, int num_splits, const KvLayout& kv, int layer, int chunk,
                              float* partials, void* out, cudaStream_t stream);

// ---- activation: out[t][i] = silu(gate_up[t][i]) * gate_up[t][I + i].
void launch_silu_mul(DType dt, const void* gate_up, int num_tokens, int inter, void* out, cudaStream_t stream);

// ---- weight conversion at load: dst (DType) = src (lmrt_dtype F32/F16/BF16), n elements.
void launch_convert(DType dt, const void* src, uint32_t src_dtype, size_t n, void* dst, cudaStream_t stream);

// ---- gemm: Y[M][N] = X[M][K] * W[N][K]^T, row-major, fp32 accumulation. Y is DType, or fp32 if y_fp32.
void gemm(cublasHandle_t handle, DType dt, const void* x, const void* w, void* y, int m, int n, int k, bool y_fp32 = false);

// ---- sampling (kernels/sampling/sampling.hpp has the parameter structs).
struct SampleRow;
struct PenaltyEntry;
struct SampleResult;
void launch_sampling(const float* logits, int vocab, const SampleRow* rows, int num_rows, const PenaltyEntry* penalties,
                     const int32_t* banned, float* z_scratch, double* p_scratch, SampleResult* results,
                     cudaStream_t stream);

}  // namespace lmrt::tm
