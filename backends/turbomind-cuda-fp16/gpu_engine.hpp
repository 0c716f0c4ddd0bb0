// The turbomind-cuda-fp16 engine: a Llama-family decoder on one CUDA device (a whole model, or one tensor-parallel
// rank's share of it), fp16 or bf16 weights and KV, fp32 residual stream and accumulation, paged KV pool, sampling
// on the device.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "communicator.hpp"
#include "decode_graph.hpp"
#include "decode_guess.hpp"
#include "device_memory.hpp"
#include "engine_config.hpp"
#include "engine_interface.hpp"
#include "kernels/kernels.hpp"
#include "kernels/sampling/sampling.hpp"
#include "kernels/timeline.cuh"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"
#include "model_weights.hpp"
#include "step_meta_layout.hpp"
#include "step_profile.hpp"
#include "step_timeline.hpp"

namespace lmrt::tm {

// One tensor-parallel rank (TensorParallelEngine): its index, the communicator its all-reduces go through, and its
// device (for a single-GPU engine: rank 0 of 1, no communicator, engine.device_id).
struct RankContext {
  int rank = 0, num_ranks = 1;
  int device = -1;  // -1: engine.device_id
  Communicator* comm = nullptr;
};

class GpuEngine final : public Engine {
 public:
  // `model` is the rank's own share with tensor parallelism (rank_model.hpp). A rank past the first runs no LM head
  // and samples nothing: its step's outputs are left empty (token -1).
  GpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, const lmrt_model_desc& model,
            const RankContext& rank = {});
  ~GpuEngine() override;
  GpuEngine(const GpuEngine&) = delete;
  GpuEngine& operator=(const GpuEngine&) = delete;

  void capacity(const lmrt_capacity_query& query, lmrt_capacity& out) override;
  void allocate_cache(const lmrt_cache_config& config) override;
  void step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) override;
  const std::string& device_name() const { return device_name_; }

 private:
  // Activations of one step, sized for `tokens` new tokens and `rows` sampled sequences.
  struct Workspace {
    size_t tokens = 0, rows = 0;
    DeviceBuffer buffer;
    float* x = nullptr;  // residual stream [tokens][hidden], fp32
    void *xn = nullptr, *qkv = nullptr, *attn = nullptr, *tmp = nullptr, *gate_up = nullptr, *act = nullptr;
    float *rope_cos = nullptr, *rope_sin = nullptr;
    void* x_last = nullptr;  // final-normed rows that sample [rows][hidden]
    float* partial = nullptr;  // tensor parallelism: this rank's wo / w2 product before the all-reduce [tokens][hidden]
    float* logits = nullptr;   // [rows][vocab]
    float* z = nullptr;        // sampling scratch [rows][vocab]
    double* p = nullptr;       // sampling scratch [rows][vocab]
    unsigned* split_counters = nullptr;  // tensor-core attention's split tokens [tokens][kv heads], zero between steps
    SamplingSlice* sample_slices = nullptr;  // [rows][kSamplingSlices]
    unsigned* sample_counters = nullptr;     // [rows], zero between steps
    unsigned* gemv_tiles_taken = nullptr;    // the skinny GEMM's tile counter (GemvArgs::tiles_taken)
  };
  uint64_t workspace_bytes(size_t tokens, size_t rows, Workspace* layout) const;
  void ensure_workspace(size_t tokens, size_t rows);
  struct AttentionPlan {
    int num_groups = 0, max_group = 0, num_items = 0, num_splits = 0;
    float* partials = nullptr;
  };
  void run_step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs);  // step() without a guess
  // `rows_are_tokens`: the LM head's rows are the step's tokens, in order (every token samples).
  void forward(int num_tokens, int num_rows, const AttentionPlan& attention, bool rows_are_tokens);
  // The skinny GEMM's tile counter, or none (LMRT_TM_GEMV_DYNAMIC=0: a fixed schedule).
  unsigned* gemv_tiles_taken() const { return gemv_dynamic_ ? ws_.gemv_tiles_taken : nullptr; }
  // `kind`, `layer`: which GEMM of the model it is (the timeline's, kernels/timeline.cuh). `rope`: kRopeKv's
  // arguments past the common ones (its bias, cos/sin tables and layouts), or none.
  void decode_gemv(const void* w, GemvInput input, const void* x, const void* norm_weight, GemvOutput output, void* y,
                   int m, int n, int k, TimelineKind kind, uint32_t layer, const GemvArgs* rope = nullptr,
                   const L2Prefetch& after = {});
  // What the chain's GEMM of W (N x K) after a kernel streams first: its slices' first `percent`%
  // (gemv_l2_prefetch); empty for 0.
  L2Prefetch next_gemv_prefetch(const void* w, int n, int k, int percent) const;

  const lmrt::plugin::Host& host_;
  RankContext rank_;
  int device_ = 0;
  std::string device_name_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::unique_ptr<DeviceModel> model_;
  std::optional<lmrt_capacity_query> query_;
  DeviceBuffer kv_;
  uint32_t kv_blocks_ = 0, block_seq_len_ = 0;
  Workspace ws_;

  // Per-step metadata, packed on the host and uploaded with one copy.
  PinnedBuffer h_meta_;
  DeviceBuffer d_meta_;
  PinnedBuffer h_results_;
  DeviceBuffer d_results_;
  std::vector<int32_t> penalty_slot_;  // vocab-sized dedup scratch, -1 when free
  int attention_group_ = kMaxAttentionGroup;  // tokens of a sequence that share K/V reads (LMRT_TM_ATTENTION_GROUP)
  bool tensor_cores_ = false;  // attention on tensor cores (LMRT_TM_ATTENTION_TENSOR_CORES, where the shape allows)
  int attention_chunk_ = 64;     // keys per attention chunk (LMRT_TM_ATTENTION_CHUNK; 256 on CUDA cores)
  bool attention_split_ = true;  // spread one-token groups over a block per chunk (LMRT_TM_ATTENTION_SPLIT)
  DeviceBuffer partials_;        // the split chunks' partials of eager steps
  // GEMMs of up to gemv_rows_ rows on the skinny GEMM (kernels/gemm/gemv.cu), and steps of up to gemv_chain_rows_
  // tokens on its chain (LMRT_TM_GEMV=0 turns both off): it rounds differently from cuBLAS, as cuBLAS does from
  // itself at another row count.
  bool gemv_enabled_ = true;
  // One row by default (LMRT_TM_GEMV_ROWS): from two rows on cuBLAS was faster on the H200 (docs/benchmarks.md).
  int gemv_rows_ = 1;
  int gemv_chain_rows_ = 0;  // the most tokens a step may have to take the chain (0: the model's shapes do not suit it)
  bool gemv_rope_ = true;    // the chain's QKV GEMM applies RoPE and writes the KV pool itself (LMRT_TM_GEMV_ROPE)
  bool gemv_silu_ = true;    // the chain's gate/up GEMM applies SiLU-and-multiply itself (LMRT_TM_GEMV_SILU)
  bool gemv_early_ = true;   // the skinny GEMM loads its stores' and norm's inputs early (LMRT_TM_GEMV_EARLY)
  bool gemv_norm_registers_ = true;  // a one-row norm's residual held in registers (LMRT_TM_GEMV_NORM_REGISTERS)
  // Where the skinny GEMM copies a plain X into shared memory (LMRT_TM_GEMV_STAGE_X).
  GemvStagePlainX gemv_stage_x_ = GemvStagePlainX::kLongRows;
  bool gemv_head_norm_ = true;  // the chain's LM head forms the final norm itself (LMRT_TM_GEMV_HEAD_NORM)
  bool gemv_dynamic_ = true;  // the skinny GEMM's blocks take row tiles from a counter (LMRT_TM_GEMV_DYNAMIC)
  // L2 prefetch in the decode chain (kernels/l2_prefetch.cuh): the MiB that tensor-core attention's blocks ask for
  // of the output GEMM's weights and then the gate/up GEMM's first rounds (LMRT_TM_L2_PREFETCH_MB), and the percent
  // of the next GEMM's rounds that each GEMM's blocks ask for as they finish (LMRT_TM_L2_PREFETCH_TAIL).
  int l2_prefetch_mb_ = 8;  // the output GEMM's weights on the 1.8B shape, a quarter of them on the 7B ones
  int l2_prefetch_tail_ = 0;
  int sm_count_ = 1;
  std::unique_ptr<StepProfile> profile_;  // LMRT_TM_PROFILE=1|2
  // LMRT_TM_TIMELINE=1 (builds with the marks, kernels/timeline.cuh): the graph-replayed steps' kernels in place.
  std::unique_ptr<StepTimeline> timeline_;
  DeviceBuffer timeline_events_;  // the cursor, then the events
  Timeline timeline_view_{};
  void read_timeline(uint32_t bucket);

  // Aims sp_ at a step's metadata in its device buffer (step_meta_layout.hpp).
  void point_at(const char* meta, const MetaLayout& m);

  // Decode steps replayed from CUDA graphs (LMRT_TM_CUDA_GRAPHS, decode_graph.hpp).
  bool graphs_enabled_ = true;
  DecodeGraphs graphs_;
  // A bucket's attention work: each token's chunks dealt over `slots` blocks (1: no split), fixed per bucket.
  struct GraphAttention {
    int slots = 1, num_items = 0, num_splits = 0;
    DeviceBuffer work;  // AttentionWork[num_items] then AttentionSplit[num_splits]
  };
  std::map<uint32_t, GraphAttention> graph_attention_;
  uint32_t graph_max_chunks_ = 0;  // attention chunks of the longest session
  DeviceBuffer graph_partials_;    // the split buckets' partials: [bucket][max chunks] partial rows
  uint32_t graph_chunks(uint32_t max_session_len) const;
  int graph_slots(uint32_t bucket, uint32_t max_chunks) const;
  uint64_t graph_partials_bytes(uint32_t max_session_len) const;
  size_t partial_row_bytes() const;  // one chunk's partials of every head: [heads][attention_partial_floats(head_dim)]
  const GraphAttention& graph_attention(uint32_t bucket);
  uint64_t buffer_epoch_ = 0;      // bumped when a buffer a graph points into is reallocated
  uint32_t graph_table_cap_ = 0;   // block-table entries per sequence in the graph metadata (0: no graphs)
  int32_t scratch_block_ = -1;     // the KV block beyond the pool that padding rows write into
  PinnedBuffer h_graph_meta_;
  DeviceBuffer d_graph_meta_, cublas_workspace_;
  // Replays the decode-only step laid out in the vectors from a graph; false when it cannot (then run it eagerly).
  bool step_with_graph(const std::vector<int32_t>& tokens, const std::vector<int32_t>& token_pos,
                       const std::vector<int32_t>& tables, const std::vector<int32_t>& table_offset,
                       const std::vector<double>& seq_base, const std::vector<SampleRow>& rows);
  // Lays out a decode-only step for its bucket's graph in the host buffer `h` (graph_meta_layout()).
  void fill_graph_meta(char* h, const std::vector<int32_t>& tokens, const std::vector<int32_t>& token_pos,
                       const std::vector<int32_t>& tables, const std::vector<int32_t>& table_offset,
                       const std::vector<double>& seq_base, const std::vector<SampleRow>& rows) const;
  void read_results(const std::vector<uint32_t>& sampled, uint32_t num_seqs, lmrt_token_logprobs* outputs);
  void copy_result(const SampleResult& result, lmrt_token_logprobs& out) const;
  static void copy_output(const lmrt_token_logprobs& from, lmrt_token_logprobs& to);

  // Decode lookahead (decode_guess.hpp): the guess in flight, if any, and what guesses served.
  bool prepare_guess(const lmrt_step_batch& batch);
  bool launch_guess(const lmrt_token_logprobs* outputs);
  void start_guess();  // the launched next_guess_, its tokens known, is the guess in flight
  struct Lookahead {
    // LMRT_TM_LOOKAHEAD: 0 off (the default: it gained under 1% on the H200), 1 guesses fed their tokens by the
    // host, 2 also launched behind the guess in flight and fed on the device; never with tensor parallelism,
    // without CUDA graphs, or with LMRT_TM_PROFILE or LMRT_TM_TIMELINE.
    int mode = 0;
    uint64_t guessed = 0;     // sequences guessed
    uint64_t used = 0;        // of them, results a later step took
    uint64_t launches = 0;    // guesses launched
    uint64_t fed = 0;         // of them, fed their tokens on the device (mode 2)
  } lookahead_;
  DecodeGuess guess_;                  // the guess in flight
  std::vector<GuessedSeq> next_guess_;  // the next one, prepared
  // Guesses' graph metadata, in turn: the next is laid out while the one in flight may still be uploading from the
  // other (and the step itself lays out in h_graph_meta_).
  PinnedBuffer h_guess_meta_[2];
  PinnedBuffer h_guess_results_[2];        // and their results, in the same turn
  cudaEvent_t guess_done_[2] = {nullptr, nullptr};  // recorded after each one's results are copied
  int guess_buffer_ = 0;      // the next guess's
  int guess_results_at_ = 0;  // the guess in flight's
  // Device pointers into d_meta_ for the current step.
  struct StepPointers {
    const int32_t *tokens, *token_pos, *token_seq, *table_offset, *block_tables, *last_rows, *banned, *group_first;
    const int32_t* fed_rows;  // decode graphs: rows whose token comes from d_results_ (LMRT_TM_LOOKAHEAD=2)
    const AttentionWork* attention_work;
    const AttentionSplit* attention_splits;
    const double* seq_base;
    const SampleRow* rows;
    const PenaltyEntry* penalties;
  } sp_{};
};

}  // namespace lmrt::tm
