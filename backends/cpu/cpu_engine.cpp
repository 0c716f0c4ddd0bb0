#include "cpu_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "host_memory.hpp"
#include "kernels.hpp"
#include "rope.hpp"
#include "sampler.hpp"
#include "step_validation.hpp"

namespace lmrt::cpu {
namespace {

using lmrt::plugin::Error;

constexpr uint32_t kAttentionTokenChunk = 16;  // new tokens of one (sequence, head) per attention task

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

template <class T>
void ensure_size(std::vector<T>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

CpuEngine::CpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, ModelWeights weights)
    : host_(host), weights_(std::move(weights)), pool_(resolve_num_threads(config.num_threads)) {
  if (config.dtype == "float16" || config.dtype == "bfloat16")
    host_.log(LMRT_LOG_INFO, "engine.dtype " + config.dtype + " requested; the cpu engine computes in float32");
  host_.log(LMRT_LOG_INFO, "cpu engine ready: " + std::to_string(pool_.size()) + " threads, weights " +
                               gib(weights_.bytes()) + " (fp32)");
}

uint64_t CpuEngine::workspace_bytes(const lmrt_capacity_query& q) const {
  const ModelShape& s = weights_.shape;
  const uint64_t per_token = 3ull * s.hidden_size + s.qkv_rows() + s.q_rows() + 3ull * s.intermediate_size + s.head_dim;
  const uint64_t per_thread = std::max<uint64_t>(q.max_session_len, 1);  // attention scores
  return 4ull * (per_token * q.max_step_tokens + uint64_t(q.max_batch_size) * s.vocab_size + per_thread * pool_.size());
}

void CpuEngine::capacity(const lmrt_capacity_query& q, lmrt_capacity& out) {
  if (q.struct_size < sizeof(lmrt_capacity_query))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: capacity query struct_size is too small");
  if (out.struct_size < sizeof(lmrt_capacity))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: capacity out.struct_size is too small");
  if (q.block_seq_len == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: capacity: block_seq_len is 0");
  if (!(q.cache_max_entry_count > 0.f && q.cache_max_entry_count <= 1.f))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: capacity: cache_max_entry_count must be in (0, 1], got " +
                                                  std::to_string(q.cache_max_entry_count));
  const ModelShape& s = weights_.shape;
  const HostMemory mem = read_host_memory();
  // The weights are already resident, so MemAvailable is what is left after them.
  const uint64_t workspace = workspace_bytes(q);
  const uint64_t free_bytes = mem.available_bytes > workspace ? mem.available_bytes - workspace : 0;
  const uint64_t block_bytes = KvCache::block_bytes(s.num_layers, s.num_kv_heads, s.head_dim, q.block_seq_len);
  const double pool_bytes = std::floor(static_cast<double>(free_bytes) * static_cast<double>(q.cache_max_entry_count));
  uint64_t blocks = static_cast<uint64_t>(pool_bytes) / block_bytes;
  // Host memory is shared with everything else on the machine: take no more than the
  // scheduler can use (every batch slot a full session), twice over for the prefix cache.
  const uint64_t per_session = (uint64_t(std::max(q.max_session_len, 1u)) + q.block_seq_len - 1) / q.block_seq_len;
  const uint64_t useful = 2 * per_session * std::max(q.max_batch_size, 1u);
  blocks = std::min(blocks, useful);
  out.num_blocks = static_cast<uint32_t>(std::min<uint64_t>(blocks, std::numeric_limits<uint32_t>::max()));
  out.block_bytes = block_bytes;
  out.weight_bytes = weights_.bytes();
  out.free_bytes = free_bytes;
  out.total_bytes = mem.total_bytes;
  lmrt::plugin::copy_text(out.device, "cpu (" + std::to_string(pool_.size()) + " threads)");
  queried_block_seq_len_ = q.block_seq_len;
}

void CpuEngine::allocate_cache(const lmrt_cache_config& c) {
  if (c.struct_size < sizeof(lmrt_cache_config))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: config struct_size is too small");
  if (cache_) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: the KV cache is already allocated");
  if (c.num_blocks == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: num_blocks is 0");
  if (c.block_seq_len == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: block_seq_len is 0");
  if (queried_block_seq_len_ && *queried_block_seq_len_ != c.block_seq_len)
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: block_seq_len " +
                                                  std::to_string(c.block_seq_len) + " differs from the " +
                                                  std::to_string(*queried_block_seq_len_) + " given to capacity");
  const ModelShape& s = weights_.shape;
  const uint64_t need = KvCache::block_bytes(s.num_layers, s.num_kv_heads, s.head_dim, c.block_seq_len) * c.num_blocks;
  const HostMemory mem = read_host_memory();
  if (need > mem.available_bytes)
    throw Error(LMRT_STATUS_OUT_OF_MEMORY, "cpu engine: the KV cache needs " + gib(need) + " for " +
                                               std::to_string(c.num_blocks) + " blocks but only " +
                                               gib(mem.available_bytes) + " of host memory is available");
  cache_ = std::make_unique<KvCache>(s.num_layers, s.num_kv_heads, s.head_dim, c.block_seq_len, c.num_blocks);
  host_.log(LMRT_LOG_INFO, "cpu engine: KV cache of " + std::to_string(c.num_blocks) + " blocks x " +
                               std::to_string(c.block_seq_len) + " tokens (" + gib(need) + ")");
}

void CpuEngine::step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  const ModelShape& s = weights_.shape;
  validate_step(&batch, outputs, StepLimits{s.vocab_size, cache_ ? cache_->num_blocks() : 0u,
                                            cache_ ? cache_->block_seq_len() : 0u});
  const uint32_t num_seqs = batch.num_seqs;
  if (num_seqs == 0) return;

  // Lay the batch's tokens out one after another.
  const size_t H = s.hidden_size, I = s.intermediate_size, QKV = s.qkv_rows(), Q = s.q_rows(), half = s.head_dim / 2;
  Workspace& w = ws_;
  ensure_size(w.seq_offset, num_seqs + 1);
  size_t T = 0;
  for (uint32_t i = 0; i < num_seqs; ++i) w.seq_offset[i] = static_cast<uint32_t>(T), T += batch.seqs[i].num_tokens;
  w.seq_offset[num_seqs] = static_cast<uint32_t>(T);
  ensure_size(w.x, T * H);
  ensure_size(w.xn, T * H);
  ensure_size(w.qkv, T * QKV);
  ensure_size(w.attn, T * Q);
  ensure_size(w.tmp, T * H);
  ensure_size(w.gate_up, T * 2 * I);
  ensure_size(w.act, T * I);
  ensure_size(w.rope_cos, T * half);
  ensure_size(w.rope_sin, T * half);
  ensure_size(w.token_seq, T);
  ensure_size(w.token_pos, T);

  for (uint32_t i = 0; i < num_seqs; ++i) {
    const lmrt_step_seq& seq = batch.seqs[i];
    const double base = rope_base(s, uint64_t(seq.start_pos) + seq.num_tokens);
    for (uint32_t k = 0; k < seq.num_tokens; ++k) {
      const size_t t = w.seq_offset[i] + k;
      w.token_seq[t] = i;
      w.token_pos[t] = seq.start_pos + k;
      std::copy_n(weights_.tok_embeddings.data() + size_t(seq.tokens[k]) * H, H, w.x.data() + t * H);
      rope_angles(s, base, seq.start_pos + k, w.rope_cos.data() + t * half, w.rope_sin.data() + t * half);
    }
  }

  // Attention tasks: (sequence, head, chunk of its new tokens).
  attention_tasks_.clear();
  for (uint32_t i = 0; i < num_seqs; ++i)
    for (uint32_t h = 0; h < s.num_heads; ++h)
      for (uint32_t b = w.seq_offset[i]; b < w.seq_offset[i + 1]; b += kAttentionTokenChunk)
        attention_tasks_.push_back({i, h, b, std::min(w.seq_offset[i + 1], b + kAttentionTokenChunk)});

  const size_t token_grain = std::max<size_t>({1, T / (pool_.size() * 4), 4096 / H});
  const size_t token_tasks = (T + token_grain - 1) / token_grain;
  auto for_tokens = [&](auto&& fn) {
    pool_.parallel_for(token_tasks, [&](size_t task) {
      for (size_t t = task * token_grain, e = std::min(T, t + token_grain); t < e; ++t) fn(t);
    });
  };

  for (uint32_t layer = 0; layer < s.num_layers; ++layer) {
    const LayerWeights& L = weights_.layers[layer];
    for_tokens([&](size_t t) { rms_norm(&w.x[t * H], L.attention_norm.data(), H, s.rms_norm_eps, &w.xn[t * H]); });
    matmul(pool_, w.xn.data(), T, H, L.wqkv.data(), L.bqkv.empty() ? nullptr : L.bqkv.data(), QKV, H, w.qkv.data(), QKV);
    // RoPE on q and k, then K/V into the cache blocks.
    for_tokens([&](size_t t) {
      float* row = &w.qkv[t * QKV];
      const float* c = &w.rope_cos[t * half];
      const float* sn = &w.rope_sin[t * half];
      for (uint32_t h = 0; h < s.num_heads + s.num_kv_heads; ++h) rope_apply(row + size_t(h) * s.head_dim, c, sn, s.head_dim);
      const lmrt_step_seq& seq = batch.seqs[w.token_seq[t]];
      const uint32_t pos = w.token_pos[t];
      const uint32_t block = static_cast<uint32_t>(seq.block_table[pos / cache_->block_seq_len()]);
      const size_t slot = pos % cache_->block_seq_len();
      for (uint32_t g = 0; g < s.num_kv_heads; ++g) {
        std::copy_n(row + Q + size_t(g) * s.head_dim, s.head_dim, cache_->keys(block, layer, g) + slot * s.head_dim);
        std::copy_n(row + Q + s.kv_rows() + size_t(g) * s.head_dim, s.head_dim,
                    cache_->values(block, layer, g) + slot * s.head_dim);
      }
    });
    attention(layer, batch, T);
    matmul(pool_, w.attn.data(), T, Q, L.wo.data(), nullptr, H, Q, w.tmp.data(), H);
    for_tokens([&](size_t t) {
      add_inplace(&w.x[t * H], &w.tmp[t * H], H);
      rms_norm(&w.x[t * H], L.ffn_norm.data(), H, s.rms_norm_eps, &w.xn[t * H]);
    });
    matmul(pool_, w.xn.data(), T, H, L.w13.data(), nullptr, 2 * I, H, w.gate_up.data(), 2 * I);
    for_tokens([&](size_t t) { swiglu(&w.gate_up[t * 2 * I], &w.gate_up[t * 2 * I + I], I, &w.act[t * I]); });
    matmul(pool_, w.act.data(), T, I, L.w2.data(), nullptr, H, I, w.tmp.data(), H);
    for_tokens([&](size_t t) { add_inplace(&w.x[t * H], &w.tmp[t * H], H); });
  }

  // Logits only for the last token of the sequences that sample.
  std::vector<uint32_t> sampled;
  for (uint32_t i = 0; i < num_seqs; ++i) {
    outputs[i].token = -1;
    outputs[i].logprob = 0.f;
    outputs[i].num_top = 0;
    if (batch.seqs[i].sampling) sampled.push_back(i);
  }
  if (sampled.empty()) return;
  const size_t S = sampled.size(), V = s.vocab_size;
  for (size_t k = 0; k < S; ++k) {
    const size_t t = w.seq_offset[sampled[k] + 1] - 1;
    rms_norm(&w.x[t * H], weights_.norm.data(), H, s.rms_norm_eps, &w.xn[k * H]);
  }
  ensure_size(w.logits, S * V);
  matmul(pool_, w.xn.data(), S, H, weights_.output(), nullptr, V, H, w.logits.data(), V);
  pool_.parallel_for(S, [&](size_t k) {
    const lmrt_step_seq& seq = batch.seqs[sampled[k]];
    sample_token(&w.logits[k * V], s.vocab_size, *seq.sampling, uint64_t(seq.start_pos) + seq.num_tokens,
                 outputs[sampled[k]]);
  }, uint64_t(S) * V >= (1u << 14));
}

void CpuEngine::attention(uint32_t layer, const lmrt_step_batch& batch, size_t) {
  const ModelShape& s = weights_.shape;
  Workspace& w = ws_;
  const size_t QKV = s.qkv_rows(), Q = s.q_rows(), hd = s.head_dim;
  const uint32_t B = cache_->block_seq_len();
  const uint32_t group = s.num_heads / s.num_kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  size_t work = 0;  // multiply-adds, to decide whether threads pay off
  for (const AttentionTask& task : attention_tasks_)
    for (uint32_t t = task.token_begin; t < task.token_end; ++t) work += (size_t(w.token_pos[t]) + 1) * hd * 2;
  pool_.parallel_for(attention_tasks_.size(), [&](size_t task_index) {
    const AttentionTask& task = attention_tasks_[task_index];
    const lmrt_step_seq& seq = batch.seqs[task.seq];
    const uint32_t g = task.head / group;
    thread_local std::vector<float> scores;
    for (uint32_t t = task.token_begin; t < task.token_end; ++t) {
      const uint32_t pos = w.token_pos[t];
      const float* q = &w.qkv[t * QKV + size_t(task.head) * hd];
      if (scores.size() < size_t(pos) + 1) scores.resize(size_t(pos) + 1);
      // Scores over [0, pos], reading K through the block table.
      float max_score = -std::numeric_limits<float>::infinity();
      for (uint32_t j0 = 0; j0 <= pos; j0 += B) {
        const float* keys = cache_->keys(static_cast<uint32_t>(seq.block_table[j0 / B]), layer, g);
        const uint32_t n = std::min(B, pos + 1 - j0);
        for (uint32_t k = 0; k < n; ++k) {
          const float sc = dot(q, keys + size_t(k) * hd, hd) * scale;
          scores[j0 + k] = sc;
          max_score = std::max(max_score, sc);
        }
      }
      float sum = 0.f;
      for (uint32_t j = 0; j <= pos; ++j) sum += scores[j] = std::exp(scores[j] - max_score);
      float* out = &w.attn[t * Q + size_t(task.head) * hd];
      std::fill_n(out, hd, 0.f);
      for (uint32_t j0 = 0; j0 <= pos; j0 += B) {
        const float* values = cache_->values(static_cast<uint32_t>(seq.block_table[j0 / B]), layer, g);
        const uint32_t n = std::min(B, pos + 1 - j0);
        for (uint32_t k = 0; k < n; ++k) {
          const float p = scores[j0 + k];
          const float* v = values + size_t(k) * hd;
          for (size_t d = 0; d < hd; ++d) out[d] += p * v[d];
        }
      }
      const float inv_sum = 1.f / sum;
      for (size_t d = 0; d < hd; ++d) out[d] *= inv_sum;
    }
  }, work >= (1u << 15));
}

}  // namespace lmrt::cpu
