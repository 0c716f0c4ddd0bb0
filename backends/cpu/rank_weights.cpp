#include "rank_weights.hpp"

#include <algorithm>

namespace lmrt::cpu {
namespace {

// Appends rows [begin, end) of a row-major matrix with `cols` columns.
void append_rows(const std::vector<float>& m, size_t cols, size_t begin, size_t end, std::vector<float>& out) {
  out.insert(out.end(), m.begin() + begin * cols, m.begin() + end * cols);
}

// Columns [begin, end) of a row-major [rows, cols] matrix.
std::vector<float> columns(const std::vector<float>& m, size_t rows, size_t cols, size_t begin, size_t end) {
  std::vector<float> out;
  out.reserve(rows * (end - begin));
  for (size_t r = 0; r < rows; ++r) out.insert(out.end(), m.begin() + r * cols + begin, m.begin() + r * cols + end);
  return out;
}

LayerWeights shard_layer(const LayerWeights& l, const ModelShape& s, const tp::RankShard& shard) {
  const size_t H = s.hidden_size, hd = s.head_dim, Q = s.q_rows(), KV = s.kv_rows(), I = s.intermediate_size;
  const size_t q0 = size_t(shard.q_heads.begin) * hd, q1 = size_t(shard.q_heads.end) * hd;
  const size_t kv0 = size_t(shard.kv_heads.begin) * hd, kv1 = size_t(shard.kv_heads.end) * hd;
  const size_t i0 = shard.intermediate.begin, i1 = shard.intermediate.end;
  LayerWeights r;
  r.attention_norm = l.attention_norm;
  r.ffn_norm = l.ffn_norm;
  append_rows(l.wqkv, H, q0, q1, r.wqkv);
  append_rows(l.wqkv, H, Q + kv0, Q + kv1, r.wqkv);
  append_rows(l.wqkv, H, Q + KV + kv0, Q + KV + kv1, r.wqkv);
  if (!l.bqkv.empty()) {
    append_rows(l.bqkv, 1, q0, q1, r.bqkv);
    append_rows(l.bqkv, 1, Q + kv0, Q + kv1, r.bqkv);
    append_rows(l.bqkv, 1, Q + KV + kv0, Q + KV + kv1, r.bqkv);
  }
  r.wo = columns(l.wo, H, Q, q0, q1);
  append_rows(l.w13, H, i0, i1, r.w13);
  append_rows(l.w13, H, I + i0, I + i1, r.w13);
  r.w2 = columns(l.w2, H, I, i0, i1);
  return r;
}

}  // namespace

uint64_t RankWeights::bytes() const {
  uint64_t n = 0;
  for (const auto& l : layers)
    n += l.attention_norm.size() + l.wqkv.size() + l.bqkv.size() + l.wo.size() + l.ffn_norm.size() + l.w13.size() +
         l.w2.size();
  return n * sizeof(float);
}

tp::ModelDims model_dims(const ModelShape& s) {
  return tp::ModelDims{s.num_heads, s.num_kv_heads, s.head_dim, s.hidden_size, s.intermediate_size};
}

std::vector<RankWeights> shard_layers(ModelWeights& model, const tp::Plan& plan) {
  std::vector<RankWeights> ranks(plan.num_ranks());
  for (RankWeights& rank : ranks) {
    rank.shape = model.shape;
    rank.shape.num_heads = plan.q_heads_per_rank();
    rank.shape.num_kv_heads = plan.kv_heads_per_rank();
    rank.shape.intermediate_size = plan.intermediate_per_rank();
  }
  if (plan.num_ranks() == 1) {
    ranks[0].layers = std::move(model.layers);
  } else {
    const std::vector<tp::RankShard> shards = plan.shards();
    for (RankWeights& rank : ranks) rank.layers.reserve(model.layers.size());
    for (LayerWeights& l : model.layers) {
      for (uint32_t r = 0; r < plan.num_ranks(); ++r) ranks[r].layers.push_back(shard_layer(l, model.shape, shards[r]));
      l = LayerWeights{};  // the full layer is freed as soon as it is cut: peak memory is one layer over the model
    }
  }
  model.layers.clear();
  model.layers.shrink_to_fit();
  return ranks;
}

}  // namespace lmrt::cpu
