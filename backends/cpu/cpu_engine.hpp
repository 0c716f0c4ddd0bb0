// The cpu engine: a decoder-only Llama-family transformer in fp32 over a paged KV pool.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "engine_config.hpp"
#include "kv_cache.hpp"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"
#include "model_weights.hpp"
#include "thread_pool.hpp"

namespace lmrt::cpu {

class CpuEngine {
 public:
  CpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, ModelWeights weights);

  void capacity(const lmrt_capacity_query& query, lmrt_capacity& out);
  void allocate_cache(const lmrt_cache_config& config);
  void step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs);

 private:
  // One step's activations, grown as needed and reused across steps.
  struct Workspace {
    std::vector<float> x, xn, qkv, attn, tmp, gate_up, act, logits;
    std::vector<float> rope_cos, rope_sin;  // [token][head_dim / 2]
    std::vector<uint32_t> token_seq;        // batch index of each token
    std::vector<uint32_t> token_pos;        // position of each token
    std::vector<uint32_t> seq_offset;       // first token of each sequence
  };
  struct AttentionTask {
    uint32_t seq, head, token_begin, token_end;  // tokens are indices into the step
  };

  void attention(uint32_t layer, const lmrt_step_batch& batch, size_t num_tokens);
  uint64_t workspace_bytes(const lmrt_capacity_query& query) const;

  const lmrt::plugin::Host& host_;
  ModelWeights weights_;
  ThreadPool pool_;
  std::optional<uint32_t> queried_block_seq_len_;
  std::unique_ptr<KvCache> cache_;
  Workspace ws_;
  std::vector<AttentionTask> attention_tasks_;
};

}  // namespace lmrt::cpu
