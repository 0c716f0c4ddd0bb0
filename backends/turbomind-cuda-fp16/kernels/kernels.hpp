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

// ---- L2 prefetch (kernels/l2_prefetch.cuh; kernels/l2_prefetch_plan.hpp cuts a region into pieces): a hint that
// a kernel issues for weights a later kernel of the step streams, while it leaves HBM idle itself. Row r < rows of
// the region starts at base + r * row_bytes; each row's slices s < slices start slice_bytes apart, and the first
// `each` bytes of every slice (cut at the row's end) are asked for. All sizes multiples of 16, base 16-byte
// aligned. No result depends on it.
struct L2Prefetch {
  const void* base = nullptr;
  size_t row_bytes = 0;
  uint32_t rows = 0, slices = 0, slice_bytes = 0, each = 0;
};

// ---- embedding: out[t] = table[tokens[t]] widened to fp32 (the residual stream); with `fed_rows` (device memory,
// or null), rows t < *fed_rows take fed[t].token instead: a decode step fed the previous step's samples on the
// device (the engine's lookahead, LMRT_TM_LOOKAHEAD=2).
struct SampleResult;
void launch_embedding(DType dt, const void* table, const int32_t* tokens, const int32_t* fed_rows,
                      const SampleResult* fed, int num_tokens, int vocab, int hidden, float* out, cudaStream_t stream);

// ---- norm (hidden <= kMaxNormHidden): for k < rows: r = row_ids ? row_ids[k] : k; if delta: x[r] += delta[r];
//      out[k] = x[r] / sqrt(mean(x[r]^2) + eps) * weight.
inline constexpr uint32_t kMaxNormHidden = 8192;  // a 1024-thread block, 8 elements per thread in registers
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
// here and `max_group` the longest. A group shares its K/V reads; each token's result does not depend on its group.
// A token's keys are cut into chunks of `chunk` absolute positions (a multiple of 128 here, of 64 for the
// tensor-core kernel) whose partials are combined in chunk order. A work item is a group and all its chunks
// (chunk = -1), or some chunks of a one-token group: chunks chunk, chunk + stride, ... of its keys, each chunk c's
// partial going to row partial + c of `partials` ([rows][num_heads][attention_partial_floats(head_dim)] floats).
// Each split token then has an AttentionSplit naming its first row and at most how many chunks it has (its own
// count of chunks is taken from its position), and a second kernel combines them. How a token is split changes no
// bit of its result.
inline constexpr int kMaxAttentionGroup = 8;
// A partial: head_dim outputs, the max, the sum, padded to 16 bytes so that a combine copies partials whole with
// 16-byte asynchronous copies.
inline constexpr int attention_partial_floats(int head_dim) { return (head_dim + 2 + 3) / 4 * 4; }
struct AttentionWork {
  int32_t group, chunk, partial, stride;
};
struct AttentionSplit {
  int32_t token, partial, num_chunks;
};
void launch_attention(DType dt, const void* qkv, int num_items, int max_group, int num_heads, const TokenLayout& tokens,
                      const int32_t* group_first, const AttentionWork* work, const AttentionSplit* splits,
                      int num_splits, const KvLayout& kv, int layer, int chunk, float* partials, void* out,
                      cudaStream_t stream);

// ---- tensor-core attention (kernels/attention/tensor_core_attention.cu): the same semantics and work layout on
// tensor cores, for head_dim 16, 32, 64 or 128 and at most 64 query heads per KV head. A block serves one work item
// and one KV head (all of its query heads), so groups may hold up to tensor_core_attention_max_group() tokens.
// Its results are not the bits of launch_attention's: an engine uses one of the two for a model. Split tokens need
// no AttentionSplit and no second kernel: the last of a token's items to finish combines its partials, in chunk
// order with attention_combine.cuh's function, so splitting still changes no bit. It finds out through
// `split_counters` ([tokens][num_kv_heads] of the step's tokens, zero before the call and left zero after it).
bool tensor_core_attention_supports(int head_dim, int heads_per_kv_head);
int tensor_core_attention_max_group(int heads_per_kv_head);
// Its blocks also issue `prefetch` (each block a share, before it waits for the previous kernel): the weights the
// GEMMs after it stream first, fetched while its own latency leaves HBM idle. A block whose token sees more than
// `max_keys` keys (0: no limit) skips its share: its own key loads then keep HBM busy, and the prefetch's bytes
// queue in front of them.
struct AttentionPrefetch {
  L2Prefetch part[2];
  int max_keys = 0;
};
void launch_tensor_core_attention(DType dt, const void* qkv, int num_items, int num_heads, const TokenLayout& tokens,
                                  const int32_t* group_first, const AttentionWork* work, const KvLayout& kv, int layer,
                                  int chunk, float* partials, unsigned* split_counters, void* out, cudaStream_t stream,
                                  const AttentionPrefetch& prefetch = {});

// ---- activation: out[t][i] = silu(gate_up[t][i]) * gate_up[t][I + i].
void launch_silu_mul(DType dt, const void* gate_up, int num_tokens, int inter, void* out, cudaStream_t stream);

// ---- collective (kernels/collective/sum_ranks.cu): s = in[0] + in[1] + ..., n fp32 partial products a rank (on
//      one device, or on peers this one can access), added in rank order and rounded to DType once; then for every
//      rank r < count out[r] = s (DType), or, with add_to_residual, out[r] += s (the fp32 residual stream, as the
//      skinny GEMM's kAddResidual adds its rounded output). Every rank holds the same bits, the bits one rank's GEMM
//      would have produced but for the order of the fp32 sum. The tensor-parallel all-reduce (communicator.hpp)
//      enqueues it on one rank.
inline constexpr int kMaxRanks = 8;
struct RankBuffers {
  const float* in[kMaxRanks];
  void* out[kMaxRanks];  // DType, or fp32 with add_to_residual
  int count;
  bool add_to_residual;
};
void launch_sum_ranks(DType dt, const RankBuffers& bufs, size_t n, cudaStream_t stream);

// ---- weight conversion at load: dst (DType) = src (lmrt_dtype F32/F16/BF16), n elements.
void launch_convert(DType dt, const void* src, uint32_t src_dtype, size_t n, void* dst, cudaStream_t stream);

// ---- gemm: Y[M][N] = X[M][K] * W[N][K]^T, row-major, fp32 accumulation. Y is DType, or fp32 if y_fp32.
// M <= gemv_rows goes to launch_gemv where it applies; other shapes go to cuBLAS.
struct GemmContext {
  cublasHandle_t cublas;
  cudaStream_t stream;
  int gemv_rows;  // GEMMs of up to this many rows (at most kMaxGemvRows) take the skinny kernel; 0: none
  unsigned* gemv_tiles_taken = nullptr;  // GemvArgs::tiles_taken for them
};
void gemm(const GemmContext& ctx, DType dt, const void* x, const void* w, void* y, int m, int n, int k,
          bool y_fp32 = false);

// ---- gemv (kernels/gemm/gemv.cu): the same product for 1 <= M <= kMaxGemvRows, reading W once, with a decode
// step's neighbours fused in. X is given (kPlain), or formed in shared memory from the fp32 residual stream as
// RMSNorm would (kRmsNorm: X = residual / sqrt(mean(residual^2) + eps) * norm_weight, rounded to DType), or from a
// gate/up pair as SiLU-and-multiply would (kSiluMul: X = silu(x[:, :K]) * x[:, K:], rounded). Y is stored in
// DType (kStore) or fp32 (kStoreF32), or rounded to DType and added to the fp32 residual stream (kAddResidual), or,
// for the fused QKV projection, rounded to DType and handed to RoPE as the RoPE kernel would take it (kRopeKv: q
// rotated in place in Y, k and v written to the KV pool; a warp computes the two rows of a rotate-half pair), or,
// for the fused gate/up projection (N = 2 I), rounded to DType and handed to SiLU-and-multiply as that kernel would
// take it (kSiluMulStore: Y is [M][I], silu(gate) * up; a warp computes gate row i and up row I + i).
// Its first weight loads are issued before it waits for the previous kernel (kernels/launch.cuh). A row's result
// does not depend on M. Needs K % 8 == 0, 16-byte aligned X and W, and the staged X within kMaxGemvStageBytes;
// returns false (and enqueues nothing) when a shape or pointer does not fit.
inline constexpr int kMaxGemvRows = 8;
inline constexpr size_t kMaxGemvStageBytes = 64 << 10;
enum class GemvInput : int { kPlain, kRmsNorm, kSiluMul };
enum class GemvOutput : int { kStore, kStoreF32, kAddResidual, kRopeKv, kSiluMulStore };
// When the skinny GEMM copies a plain X into shared memory (GemvArgs::stage_plain_x). The copy's round trip comes
// before the first FMA, so it pays only where a warp reads all of K over several rounds (docs/benchmarks.md).
enum class GemvStagePlainX : int {
  kNever = 0,
  kAlways = 1,
  kLongRows = 2,  // where a warp's rows are not split over K and take at least kGemvStageMinRounds rounds
};
inline constexpr int kGemvStageMinRounds = 4;
// Whether a kRmsNorm skinny GEMM of M rows and K holds its residual in registers under `on`
// (GemvArgs::norm_in_registers): one row of up to 8192.
__host__ __device__ constexpr bool gemv_norm_in_registers(bool on, int m, int k) { return on && m == 1 && k <= 8192; }
struct GemvArgs {
  GemvInput input = GemvInput::kPlain;
  const void* x = nullptr;            // kPlain: [M][K]; kSiluMul: [M][2K] (gate | up); DType
  const float* residual = nullptr;    // kRmsNorm: [M][K]
  const void* norm_weight = nullptr;  // kRmsNorm: [K], DType
  float eps = 0.f;                    // kRmsNorm
  GemvOutput output = GemvOutput::kStore;
  void* y = nullptr;  // [M][N]: DType (kStore, kRopeKv) or fp32 (kStoreF32, kAddResidual); [M][N / 2] (kSiluMulStore)
  int m = 0, n = 0, k = 0;
  // kRopeKv: N = (num_heads + 2 kv heads) x head_dim; the M rows are the step's tokens 0..M-1 of `tokens`.
  const void* bias = nullptr;  // [N] DType, or none
  const float* rope_cos = nullptr;
  const float* rope_sin = nullptr;  // [M][head_dim / 2] (launch_rope_table)
  int num_heads = 0, layer = 0;  // layer: also the timeline's (kernels/timeline.cuh)
  TokenLayout tokens{};
  KvLayout kv{};
  uint32_t timeline_kind = 0;  // TimelineKind: which of a layer's GEMMs this is, for the timeline
  // One unsigned in device memory, zero before the first launch and left zero by each: blocks take row tiles from
  // it, which evens out the SMs' unequal bandwidth; launches that share it must run one after another (one
  // stream). None: a fixed schedule. Either way the same arithmetic.
  unsigned* tiles_taken = nullptr;
  // Loads early what a tile's stores and the norm read besides the weights (the residual, RoPE's inputs, the KV
  // places, the norm weights): at the tile's start, before the wait where nothing of the step wrote them. Off: where
  // they are used, after the last round. Either way the same bits.
  bool early_loads = true;
  // kRmsNorm where gemv_norm_in_registers(): each thread loads its pieces of the residual at once and keeps them
  // in registers for the norm's second pass, rather than a piece per loop turn in each pass. Either way the same
  // bits.
  bool norm_in_registers = true;
  // kPlain: whether X is copied into shared memory after the wait (where it fits in kMaxGemvStageBytes), so that a
  // round's FMAs read it from there rather than from L2, where each round's first touch queued behind the weight
  // stream. Either way the same bits.
  GemvStagePlainX stage_plain_x = GemvStagePlainX::kLongRows;
  // Issued by each block after its last tile, a share each: what the next kernel streams first, fetched into L2
  // while the GEMM's last blocks leave HBM partly idle (gemv_l2_prefetch). None: nothing.
  L2Prefetch prefetch_after{};
};
bool launch_gemv(DType dt, const void* w, const GemvArgs& args, cudaStream_t stream);
// Whether the blocks of an N x K product launched with GemvArgs::tiles_taken take their tiles from it on this
// device (eight or more tiles a block: the LM heads) rather than keep a fixed share.
bool gemv_takes_tiles(int n, int k);
// Whether a kPlain skinny GEMM of M rows against W (N x K) copies X into shared memory on this device under
// `policy` (GemvArgs::stage_plain_x).
bool gemv_stages_plain_x(GemvStagePlainX policy, int m, int n, int k);
// What a skinny GEMM of W (N x K) streams first: the first `fraction` (0 to 1) of every K slice its warps read, in
// whole rounds of a warp's loads; all of W for 1. Empty for 0.
L2Prefetch gemv_l2_prefetch(const void* w, int n, int k, double fraction);
// Loads every skinny-GEMM kernel of `dt` now and sets its shared-memory limit, so that no step pays CUDA's lazy
// module loading. False if the device refused (a launch would then fail too).
bool prepare_gemv(DType dt);

// ---- launches: with `on`, kernels start with programmatic dependent launch (kernels/launch.cuh). Process-wide;
// off by default; only for sm_90 and newer devices.
void set_programmatic_dependent_launch(bool on);

// ---- sampling (kernels/sampling/sampling.hpp has the parameter structs).
struct SampleRow;
struct PenaltyEntry;
struct SamplingSlice;
// `slices`: [num_rows][kSamplingSlices]; `counters`: [num_rows], zero before the first launch (each row's last
// block sets its counter back to zero).
void launch_sampling(const float* logits, int vocab, const SampleRow* rows, int num_rows, const PenaltyEntry* penalties,
                     const int32_t* banned, float* z_scratch, double* p_scratch, SamplingSlice* slices,
                     unsigned* counters, SampleResult* results, cudaStream_t stream);

}  // namespace lmrt::tm
