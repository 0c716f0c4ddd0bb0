// The tensor-parallel sharding plan (header-only, for any engine plugin: the cpu
// engine's simulated ranks and GPU engines over NCCL use the same plan, and
// plugins do not link liblmrt).
//
// For N ranks, rank r holds:
//   - query heads [r*H/N, (r+1)*H/N): the matching rows of wq (and bq), and the
//     matching columns of wo (attention is column-parallel in, row-parallel out);
//   - KV heads: split, [r*KV/N, (r+1)*KV/N), when N <= KV (N must divide KV); or,
//     when N > KV (N must be a multiple of KV), one KV head replicated on N/KV
//     ranks: the one its query heads attend to. The rows of wk/wv (bk/bv) and the
//     rank's KV pool hold exactly these heads;
//   - intermediate columns [r*I/N, (r+1)*I/N): rows of w1 (gate) and w3 (up),
//     columns of w2 (the MLP is column-parallel, then row-parallel).
// Each rank's wo and w2 products are partial sums over its columns; an
// all-reduce (sum) after each gives every rank the full hidden-size output.
// Everything else (embeddings, RMSNorm weights, the final norm, lm_head) is
// replicated: every rank holds the full hidden state after each all-reduce.
//
// Within a rank, local query head h attends to local KV head
// h / (q_heads.size() / kv_heads.size()): the rank is a model of its own with
// H/N heads and KV/N (or 1) KV heads in the same GQA layout.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lmrt::tp {

// A half-open index range [begin, end).
struct Range {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t size() const noexcept { return end - begin; }
  bool contains(uint32_t i) const noexcept { return i >= begin && i < end; }
};

// The shape the plan needs (Hugging Face names in comments).
struct ModelDims {
  uint32_t num_heads = 0;          // num_attention_heads
  uint32_t num_kv_heads = 0;       // num_key_value_heads
  uint32_t head_dim = 0;
  uint32_t hidden_size = 0;
  uint32_t intermediate_size = 0;
};

// What one rank holds. Row ranges of a weight are the head ranges times head_dim.
struct RankShard {
  uint32_t rank = 0;
  Range q_heads;       // rows q_heads*head_dim of wq/bq, columns of wo
  Range kv_heads;      // rows kv_heads*head_dim of wk/wv/bk/bv; this rank's KV pool
  Range intermediate;  // rows of w1/w3, columns of w2
};

// Why `num_ranks` cannot shard `dims`, naming the numbers; empty when it can.
inline std::string plan_error(const ModelDims& d, uint32_t num_ranks) {
  const std::string n = std::to_string(num_ranks);
  if (num_ranks == 0) return "tp must be at least 1, got 0";
  if (d.num_heads == 0 || d.num_kv_heads == 0 || d.head_dim == 0 || d.hidden_size == 0 || d.intermediate_size == 0)
    return "the model shape has a zero dimension (num_heads " + std::to_string(d.num_heads) + ", num_kv_heads " +
           std::to_string(d.num_kv_heads) + ", head_dim " + std::to_string(d.head_dim) + ", hidden_size " +
           std::to_string(d.hidden_size) + ", intermediate_size " + std::to_string(d.intermediate_size) + ")";
  if (d.num_heads % d.num_kv_heads != 0)
    return "num_heads " + std::to_string(d.num_heads) + " is not a multiple of num_kv_heads " +
           std::to_string(d.num_kv_heads);
  if (d.num_heads % num_ranks != 0)
    return "tp " + n + " does not divide num_heads " + std::to_string(d.num_heads) +
           " (each rank holds num_heads / tp query heads)";
  if (num_ranks <= d.num_kv_heads && d.num_kv_heads % num_ranks != 0)
    return "tp " + n + " does not divide num_kv_heads " + std::to_string(d.num_kv_heads) +
           " (with tp <= num_kv_heads each rank holds num_kv_heads / tp KV heads)";
  if (num_ranks > d.num_kv_heads && num_ranks % d.num_kv_heads != 0)
    return "tp " + n + " exceeds num_kv_heads " + std::to_string(d.num_kv_heads) +
           " but is not a multiple of it (KV heads are replicated on tp / num_kv_heads ranks each)";
  if (d.intermediate_size % num_ranks != 0)
    return "tp " + n + " does not divide intermediate_size " + std::to_string(d.intermediate_size) +
           " (each rank holds intermediate_size / tp MLP columns)";
  return {};
}

class Plan {
 public:
  // Throws std::invalid_argument with plan_error()'s message when the shape cannot be sharded.
  Plan(const ModelDims& dims, uint32_t num_ranks) : dims_(dims), num_ranks_(num_ranks) {
    if (std::string e = plan_error(dims, num_ranks); !e.empty()) throw std::invalid_argument(e);
  }

  const ModelDims& dims() const noexcept { return dims_; }
  uint32_t num_ranks() const noexcept { return num_ranks_; }
  // True when N > num_kv_heads: each KV head lives on num_ranks / num_kv_heads ranks.
  bool kv_replicated() const noexcept { return num_ranks_ > dims_.num_kv_heads; }

  uint32_t q_heads_per_rank() const noexcept { return dims_.num_heads / num_ranks_; }
  uint32_t kv_heads_per_rank() const noexcept { return kv_replicated() ? 1 : dims_.num_kv_heads / num_ranks_; }
  uint32_t intermediate_per_rank() const noexcept { return dims_.intermediate_size / num_ranks_; }

  // Throws std::out_of_range for rank >= num_ranks().
  RankShard shard(uint32_t rank) const {
    if (rank >= num_ranks_)
      throw std::out_of_range("tp rank " + std::to_string(rank) + " out of range for tp " + std::to_string(num_ranks_));
    RankShard s;
    s.rank = rank;
    const uint32_t q = q_heads_per_rank(), kv = kv_heads_per_rank(), inter = intermediate_per_rank();
    s.q_heads = {rank * q, (rank + 1) * q};
    // Replicated: the query heads of this rank all sit in one GQA group (num_heads / num_kv_heads
    // is a multiple of q), and that group's KV head is the one the rank needs.
    const uint32_t first_kv = kv_replicated() ? s.q_heads.begin / (dims_.num_heads / dims_.num_kv_heads) : rank * kv;
    s.kv_heads = {first_kv, first_kv + kv};
    s.intermediate = {rank * inter, (rank + 1) * inter};
    return s;
  }

  std::vector<RankShard> shards() const {
    std::vector<RankShard> all;
    for (uint32_t r = 0; r < num_ranks_; ++r) all.push_back(shard(r));
    return all;
  }

 private:
  ModelDims dims_;
  uint32_t num_ranks_;
};

}  // namespace lmrt::tp
