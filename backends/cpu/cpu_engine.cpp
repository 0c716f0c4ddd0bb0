#include "cpu_engine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "host_memory.hpp"
#include "lmrt/cpp/step_checks.hpp"
#include "kernels.hpp"
#include "rope.hpp"
#include "sampler.hpp"

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

tp::Plan make_plan(const ModelShape& shape, unsigned tp) {
  try {
    return tp::Plan(model_dims(shape), tp);
  } catch (const std::invalid_argument& e) {
    throw Error(LMRT_STATUS_CONFIG_ERROR, std::string("cpu engine: engine.tp: ") + e.what());
  }
}

}  // namespace

CpuEngine::CpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, ModelWeights weights)
    : host_(host),
      num_threads_(resolve_num_threads(config.num_threads)),
      weights_(std::move(weights)),
      plan_(make_plan(weights_.shape, config.tp)),
      comm_(config.tp) {
  if (config.dtype == "float16" || config.dtype == "bfloat16")
    host_.log(LMRT_LOG_INFO, "engine.dtype " + config.dtype + " requested; the cpu engine computes in float32");
  const uint32_t N = plan_.num_ranks();
  // The threads are shared out among the ranks, as a host's GPUs each have their own cores.
  const unsigned per_rank = std::max(1u, num_threads_ / N);
  std::vector<RankWeights> shards = shard_layers(weights_, plan_);
  ranks_.resize(N);
  for (uint32_t r = 0; r < N; ++r) {
    ranks_[r].weights = std::move(shards[r]);
    ranks_[r].pool = std::make_unique<ThreadPool>(per_rank);
  }
  if (N > 1) rank_threads_ = std::make_unique<ThreadPool>(N);
  uint64_t weight_bytes = weights_.bytes();
  for (const Rank& r : ranks_) weight_bytes += r.weights.bytes();
  std::string ready = "cpu engine ready: " + std::to_string(num_threads_) + " threads, weights " + gib(weight_bytes) +
                      " (fp32)";
  if (N > 1)
    ready += ", tp " + std::to_string(N) + " simulated ranks of " + std::to_string(per_rank) + " thread(s), " +
             std::to_string(plan_.q_heads_per_rank()) + " query heads and " + std::to_string(plan_.kv_heads_per_rank()) +
             (plan_.kv_replicated() ? " replicated" : "") + " KV head(s) each";
  host_.log(LMRT_LOG_INFO, ready);
}

std::string CpuEngine::device_text() const {
  std::string text = "cpu (" + std::to_string(num_threads_) + " threads";
  if (plan_.num_ranks() > 1) text += ", tp " + std::to_string(plan_.num_ranks()) + " simulated ranks";
  return text + ")";
}

uint64_t CpuEngine::rank_block_bytes(uint32_t block_seq_len) const {
  const ModelShape& s = ranks_[0].weights.shape;
  return KvCache::block_bytes(s.num_layers, s.num_kv_heads, s.head_dim, block_seq_len);
}

uint64_t CpuEngine::workspace_bytes(const lmrt_capacity_query& q) const {
  const ModelShape& s = ranks_[0].weights.shape;  // every rank has the same shape
  // Per rank: x, xn, the double partial (2 floats' worth), qkv, attn, gate/up, act, RoPE tables.
  const uint64_t per_token = 4ull * s.hidden_size + s.qkv_rows() + s.q_rows() + 3ull * s.intermediate_size + s.head_dim;
  const uint64_t per_thread = std::max<uint64_t>(q.max_session_len, 1);  // attention scores
  const uint64_t threads = uint64_t(ranks_[0].pool->size()) * ranks_.size();
  return 4ull * (per_token * q.max_step_tokens * ranks_.size() + uint64_t(q.max_batch_size) * s.vocab_size +
                 per_thread * threads);
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
  const HostMemory mem = read_host_memory();
  const uint32_t N = plan_.num_ranks();
  // The weights are already resident, so MemAvailable is what is left after them.
  // The simulated ranks share host memory: each gets an equal share of what is free,
  // and the numbers reported are one rank's (a block holds only that rank's KV heads).
  const uint64_t workspace = workspace_bytes(q);
  const uint64_t free_bytes = (mem.available_bytes > workspace ? mem.available_bytes - workspace : 0) / N;
  const uint64_t block_bytes = rank_block_bytes(q.block_seq_len);
  const double pool_bytes = std::floor(static_cast<double>(free_bytes) * static_cast<double>(q.cache_max_entry_count));
  uint64_t blocks = static_cast<uint64_t>(pool_bytes) / block_bytes;
  // Host memory is shared with everything else on the machine: take no more than the
  // scheduler can use (every batch slot a full session), twice over for the prefix cache.
  const uint64_t per_session = (uint64_t(std::max(q.max_session_len, 1u)) + q.block_seq_len - 1) / q.block_seq_len;
  const uint64_t useful = 2 * per_session * std::max(q.max_batch_size, 1u);
  blocks = std::min(blocks, useful);
  out.num_blocks = static_cast<uint32_t>(std::min<uint64_t>(blocks, std::numeric_limits<uint32_t>::max()));
  out.block_bytes = block_bytes;
  out.weight_bytes = weights_.bytes() + ranks_[0].weights.bytes();  // the replicated part counts on every rank
  out.free_bytes = free_bytes;
  out.total_bytes = mem.total_bytes;
  lmrt::plugin::copy_text(out.device, device_text());
  queried_block_seq_len_ = q.block_seq_len;
}

void CpuEngine::allocate_cache(const lmrt_cache_config& c) {
  if (c.struct_size < sizeof(lmrt_cache_config))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: config struct_size is too small");
  if (ranks_[0].cache)
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: the KV cache is already allocated");
  if (c.num_blocks == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: num_blocks is 0");
  if (c.block_seq_len == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: block_seq_len is 0");
  if (queried_block_seq_len_ && *queried_block_seq_len_ != c.block_seq_len)
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: block_seq_len " +
                                                  std::to_string(c.block_seq_len) + " differs from the " +
                                                  std::to_string(*queried_block_seq_len_) + " given to capacity");
  // Every rank holds num_blocks blocks of its own KV heads; all of them come out of host memory.
  const uint64_t need = rank_block_bytes(c.block_seq_len) * c.num_blocks * ranks_.size();
  const HostMemory mem = read_host_memory();
  if (need > mem.available_bytes)
    throw Error(LMRT_STATUS_OUT_OF_MEMORY, "cpu engine: the KV cache needs " + gib(need) + " for " +
                                               std::to_string(c.num_blocks) + " blocks but only " +
                                               gib(mem.available_bytes) + " of host memory is available");
  for (Rank& r : ranks_) {
    const ModelShape& s = r.weights.shape;
    r.cache = std::make_unique<KvCache>(s.num_layers, s.num_kv_heads, s.head_dim, c.block_seq_len, c.num_blocks);
  }
  host_.log(LMRT_LOG_INFO, "cpu engine: KV cache of " + std::to_string(c.num_blocks) + " blocks x " +
                               std::to_string(c.block_seq_len) + " tokens (" + gib(need) +
                               (ranks_.size() > 1 ? " over " + std::to_string(ranks_.size()) + " ranks" : "") + ")");
}

template <class F>
void CpuEngine::run_ranks(F&& fn) {
  if (ranks_.size() == 1) return fn(0u);
  // rank_threads_ has one thread per rank, and no rank gets past its first
  // all-reduce until every rank has arrived, so each rank runs on a thread of its own.
  try {
    rank_threads_->parallel_for(ranks_.size(), [&](size_t r) {
      try {
        fn(static_cast<uint32_t>(r));
      } catch (...) {
        comm_.abort();  // the other ranks must not wait for this one
        throw;
      }
    });
  } catch (...) {
    comm_.reset();
    throw;
  }
}

void CpuEngine::step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  const ModelShape& s = weights_.shape;
  KvCache* cache = ranks_[0].cache.get();
  checks::validate_step("cpu engine", &batch, outputs,
                        checks::StepLimits{s.vocab_size, cache ? cache->num_blocks() : 0u,
                                           cache ? cache->block_seq_len() : 0u});
  const uint32_t num_seqs = batch.num_seqs;
  if (num_seqs == 0) return;

  // Lay the batch's tokens out one after another.
  const size_t H = s.hidden_size, half = s.head_dim / 2;
  StepLayout& w = layout_;
  ensure_size(w.seq_offset, num_seqs + 1);
  size_t T = 0;
  for (uint32_t i = 0; i < num_seqs; ++i) w.seq_offset[i] = static_cast<uint32_t>(T), T += batch.seqs[i].num_tokens;
  w.seq_offset[num_seqs] = static_cast<uint32_t>(T);
  ensure_size(w.rope_cos, T * half);
  ensure_size(w.rope_sin, T * half);
  ensure_size(w.token_seq, T);
  ensure_size(w.token_pos, T);
  for (Rank& r : ranks_) {  // sized here so that nothing allocates while the ranks run
    const ModelShape& rs = r.weights.shape;
    ensure_size(r.x, T * H);
    ensure_size(r.xn, T * H);
    ensure_size(r.qkv, T * rs.qkv_rows());
    ensure_size(r.attn, T * rs.q_rows());
    ensure_size(r.gate_up, T * 2 * rs.intermediate_size);
    ensure_size(r.act, T * rs.intermediate_size);
    ensure_size(r.partial, T * H);
  }

  for (uint32_t i = 0; i < num_seqs; ++i) {
    const lmrt_step_seq& seq = batch.seqs[i];
    const double base = rope_base(s, uint64_t(seq.start_pos) + seq.num_tokens);
    for (uint32_t k = 0; k < seq.num_tokens; ++k) {
      const size_t t = w.seq_offset[i] + k;
      w.token_seq[t] = i;
      w.token_pos[t] = seq.start_pos + k;
      rope_angles(s, base, seq.start_pos + k, w.rope_cos.data() + t * half, w.rope_sin.data() + t * half);
    }
  }

  // Attention tasks: (sequence, rank-local head, chunk of its new tokens); every rank has as many heads.
  attention_tasks_.clear();
  for (uint32_t i = 0; i < num_seqs; ++i)
    for (uint32_t h = 0; h < plan_.q_heads_per_rank(); ++h)
      for (uint32_t b = w.seq_offset[i]; b < w.seq_offset[i + 1]; b += kAttentionTokenChunk)
        attention_tasks_.push_back({i, h, b, std::min(w.seq_offset[i + 1], b + kAttentionTokenChunk)});

  run_ranks([&](uint32_t r) { forward(r, batch, T); });

  // Logits only for the last token of the sequences that sample, once: the
  // hidden state is the same on every rank and lm_head is replicated.
  std::vector<uint32_t> sampled;
  for (uint32_t i = 0; i < num_seqs; ++i) {
    outputs[i].token = -1;
    outputs[i].logprob = 0.f;
    outputs[i].num_top = 0;
    if (batch.seqs[i].sampling) sampled.push_back(i);
  }
  if (sampled.empty()) return;
  Rank& first = ranks_[0];
  ThreadPool& pool = *first.pool;
  const size_t S = sampled.size(), V = s.vocab_size;
  for (size_t k = 0; k < S; ++k) {
    const size_t t = w.seq_offset[sampled[k] + 1] - 1;
    rms_norm(&first.x[t * H], weights_.norm.data(), H, s.rms_norm_eps, &first.xn[k * H]);
  }
  ensure_size(w.logits, S * V);
  matmul(pool, first.xn.data(), S, H, weights_.output(), nullptr, V, H, w.logits.data(), V);
  pool.parallel_for(S, [&](size_t k) {
    const lmrt_step_seq& seq = batch.seqs[sampled[k]];
    sample_token(&w.logits[k * V], s.vocab_size, *seq.sampling, uint64_t(seq.start_pos) + seq.num_tokens,
                 outputs[sampled[k]]);
  }, uint64_t(S) * V >= (1u << 14));
}

void CpuEngine::forward(uint32_t rank, const lmrt_step_batch& batch, size_t T) {
  Rank& k = ranks_[rank];
  const ModelShape& s = k.weights.shape;  // this rank's heads and columns
  const StepLayout& w = layout_;
  ThreadPool& pool = *k.pool;
  KvCache& cache = *k.cache;
  const size_t H = s.hidden_size, I = s.intermediate_size, QKV = s.qkv_rows(), Q = s.q_rows(), half = s.head_dim / 2;

  const size_t token_grain = std::max<size_t>({1, T / (pool.size() * 4), 4096 / H});
  const size_t token_tasks = (T + token_grain - 1) / token_grain;
  auto for_tokens = [&](auto&& fn) {
    pool.parallel_for(token_tasks, [&](size_t task) {
      for (size_t t = task * token_grain, e = std::min(T, t + token_grain); t < e; ++t) fn(t);
    });
  };

  for_tokens([&](size_t t) {
    const int32_t token = batch.seqs[w.token_seq[t]].tokens[w.token_pos[t] - batch.seqs[w.token_seq[t]].start_pos];
    std::copy_n(weights_.tok_embeddings.data() + size_t(token) * H, H, k.x.data() + t * H);
  });

  for (uint32_t layer = 0; layer < s.num_layers; ++layer) {
    const LayerWeights& L = k.weights.layers[layer];
    for_tokens([&](size_t t) { rms_norm(&k.x[t * H], L.attention_norm.data(), H, s.rms_norm_eps, &k.xn[t * H]); });
    // Column-parallel: this rank's q/k/v rows, the same dot products as with one rank.
    matmul(pool, k.xn.data(), T, H, L.wqkv.data(), L.bqkv.empty() ? nullptr : L.bqkv.data(), QKV, H, k.qkv.data(), QKV);
    // RoPE on q and k, then K/V into this rank's cache blocks.
    for_tokens([&](size_t t) {
      float* row = &k.qkv[t * QKV];
      const float* c = &w.rope_cos[t * half];
      const float* sn = &w.rope_sin[t * half];
      for (uint32_t h = 0; h < s.num_heads + s.num_kv_heads; ++h) rope_apply(row + size_t(h) * s.head_dim, c, sn, s.head_dim);
      const lmrt_step_seq& seq = batch.seqs[w.token_seq[t]];
      const uint32_t pos = w.token_pos[t];
      const uint32_t block = static_cast<uint32_t>(seq.block_table[pos / cache.block_seq_len()]);
      const size_t slot = pos % cache.block_seq_len();
      for (uint32_t g = 0; g < s.num_kv_heads; ++g) {
        std::copy_n(row + Q + size_t(g) * s.head_dim, s.head_dim, cache.keys(block, layer, g) + slot * s.head_dim);
        std::copy_n(row + Q + s.kv_rows() + size_t(g) * s.head_dim, s.head_dim,
                    cache.values(block, layer, g) + slot * s.head_dim);
      }
    });
    attention(k, layer, batch);
    // Row-parallel: partial sums over this rank's heads, added over the ranks in double.
    matmul_f64(pool, k.attn.data(), T, Q, L.wo.data(), H, Q, k.partial.data(), H);
    comm_.all_reduce_sum(rank, k.partial.data(), T * H);
    for_tokens([&](size_t t) {
      add_rounded(&k.x[t * H], &k.partial[t * H], H);
      rms_norm(&k.x[t * H], L.ffn_norm.data(), H, s.rms_norm_eps, &k.xn[t * H]);
    });
    matmul(pool, k.xn.data(), T, H, L.w13.data(), nullptr, 2 * I, H, k.gate_up.data(), 2 * I);
    for_tokens([&](size_t t) { swiglu(&k.gate_up[t * 2 * I], &k.gate_up[t * 2 * I + I], I, &k.act[t * I]); });
    matmul_f64(pool, k.act.data(), T, I, L.w2.data(), H, I, k.partial.data(), H);
    comm_.all_reduce_sum(rank, k.partial.data(), T * H);
    for_tokens([&](size_t t) { add_rounded(&k.x[t * H], &k.partial[t * H], H); });
  }
}

void CpuEngine::attention(Rank& rank, uint32_t layer, const lmrt_step_batch& batch) {
  const ModelShape& s = rank.weights.shape;
  const StepLayout& w = layout_;
  KvCache& cache = *rank.cache;
  const size_t QKV = s.qkv_rows(), Q = s.q_rows(), hd = s.head_dim;
  const uint32_t B = cache.block_seq_len();
  const uint32_t group = s.num_heads / s.num_kv_heads;
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  size_t work = 0;  // multiply-adds, to decide whether threads pay off
  for (const AttentionTask& task : attention_tasks_)
    for (uint32_t t = task.token_begin; t < task.token_end; ++t) work += (size_t(w.token_pos[t]) + 1) * hd * 2;
  rank.pool->parallel_for(attention_tasks_.size(), [&](size_t task_index) {
    const AttentionTask& task = attention_tasks_[task_index];
    const lmrt_step_seq& seq = batch.seqs[task.seq];
    const uint32_t g = task.head / group;
    thread_local std::vector<float> scores;
    for (uint32_t t = task.token_begin; t < task.token_end; ++t) {
      const uint32_t pos = w.token_pos[t];
      const float* q = &rank.qkv[t * QKV + size_t(task.head) * hd];
      if (scores.size() < size_t(pos) + 1) scores.resize(size_t(pos) + 1);
      // Scores over [0, pos], reading K through the block table.
      float max_score = -std::numeric_limits<float>::infinity();
      for (uint32_t j0 = 0; j0 <= pos; j0 += B) {
        const float* keys = cache.keys(static_cast<uint32_t>(seq.block_table[j0 / B]), layer, g);
        const uint32_t n = std::min(B, pos + 1 - j0);
        for (uint32_t k = 0; k < n; ++k) {
          const float sc = dot(q, keys + size_t(k) * hd, hd) * scale;
          scores[j0 + k] = sc;
          max_score = std::max(max_score, sc);
        }
      }
      float sum = 0.f;
      for (uint32_t j = 0; j <= pos; ++j) sum += scores[j] = std::exp(scores[j] - max_score);
      float* out = &rank.attn[t * Q + size_t(task.head) * hd];
      std::fill_n(out, hd, 0.f);
      for (uint32_t j0 = 0; j0 <= pos; j0 += B) {
        const float* values = cache.values(static_cast<uint32_t>(seq.block_table[j0 / B]), layer, g);
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
