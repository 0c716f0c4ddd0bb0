// The cpu engine: a decoder-only Llama-family transformer in fp32 over a paged KV pool,
// optionally split over simulated tensor-parallel ranks (engine.tp, docs/tensor-parallel.md).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "engine_config.hpp"
#include "kv_cache.hpp"
#include "lmrt/cpp/tensor_parallel.hpp"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"
#include "local_communicator.hpp"
#include "model_weights.hpp"
#include "rank_weights.hpp"
#include "thread_pool.hpp"

namespace lmrt::cpu {

class CpuEngine {
 public:
  CpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, ModelWeights weights);

  void capacity(const lmrt_capacity_query& query, lmrt_capacity& out);
  void allocate_cache(const lmrt_cache_config& config);
  void step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs);

 private:
  // One simulated rank, as a GPU would be: its weights, its KV heads' pool, its own
  // threads and its own copy of the activations (the hidden state is replicated).
  struct Rank {
    RankWeights weights;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<KvCache> cache;
    std::vector<float> x, xn, qkv, attn, gate_up, act;
    std::vector<double> partial;  // wo / w2 output: this rank's partial sums, then their all-reduce
  };
  // What every rank reads during a step (written before the ranks start).
  struct StepLayout {
    std::vector<float> rope_cos, rope_sin;  // [token][head_dim / 2]
    std::vector<uint32_t> token_seq;        // batch index of each token
    std::vector<uint32_t> token_pos;        // position of each token
    std::vector<uint32_t> seq_offset;       // first token of each sequence
    std::vector<float> logits;
  };
  struct AttentionTask {
    uint32_t seq, head, token_begin, token_end;  // head is rank-local; tokens are indices into the step
  };

  void forward(uint32_t rank, const lmrt_step_batch& batch, size_t num_tokens);
  void attention(Rank& rank, uint32_t layer, const lmrt_step_batch& batch);
  template <class F>
  void run_ranks(F&& fn);
  uint64_t workspace_bytes(const lmrt_capacity_query& query) const;
  uint64_t rank_block_bytes(uint32_t block_seq_len) const;
  std::string device_text() const;

  const lmrt::plugin::Host& host_;
  unsigned num_threads_;
  ModelWeights weights_;  // the replicated part: embeddings, final norm, lm_head (layers live in ranks_)
  tp::Plan plan_;
  std::vector<Rank> ranks_;
  LocalCommunicator comm_;
  std::unique_ptr<ThreadPool> rank_threads_;  // one thread per rank when tp > 1
  std::optional<uint32_t> queried_block_seq_len_;
  StepLayout layout_;
  std::vector<AttentionTask> attention_tasks_;
};

}  // namespace lmrt::cpu
