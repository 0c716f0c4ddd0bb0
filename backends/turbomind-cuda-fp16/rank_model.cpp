#include "rank_model.hpp"

#include <cstring>
#include <string>
#include <unordered_map>

#include "lmrt/plugin.hpp"
#include "tensor_dtype.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

// `t` as the full model must have it: [rows, cols] (cols 0: a vector of `rows`).
void check_full(const lmrt_tensor_view& t, int64_t rows, int64_t cols) {
  const uint32_t ndim = cols ? 2 : 1;
  const size_t es = tensor_elem_size(t.dtype);
  const bool ok = t.ndim == ndim && t.shape[0] == rows && (!cols || t.shape[1] == cols) && es != 0 && t.data &&
                  t.nbytes == static_cast<uint64_t>(rows) * (cols ? cols : 1) * es;
  if (!ok)
    throw Error(LMRT_STATUS_MODEL_ERROR, std::string("turbomind-cuda-fp16: tensor '") + t.name +
                                             "' cannot be split for tensor parallelism: expected shape [" +
                                             std::to_string(rows) + (cols ? ", " + std::to_string(cols) : "") +
                                             "] with its bytes and data");
}

}  // namespace

tp::ModelDims model_dims(const lmrt_model_desc& d) {
  return tp::ModelDims{d.num_heads, d.num_kv_heads, d.head_dim, d.hidden_size, d.intermediate_size};
}

RankModel::RankModel(const lmrt_model_desc& full, const tp::RankShard& shard) : desc_(full) {
  const int64_t H = full.hidden_size, hd = full.head_dim, I = full.intermediate_size;
  const int64_t Q = int64_t(full.num_heads) * hd, KV = int64_t(full.num_kv_heads) * hd;
  const int64_t q0 = shard.q_heads.begin * hd, q1 = shard.q_heads.end * hd;
  const int64_t kv0 = shard.kv_heads.begin * hd, kv1 = shard.kv_heads.end * hd;
  const int64_t i0 = shard.intermediate.begin, i1 = shard.intermediate.end;
  desc_.num_heads = shard.q_heads.size();
  desc_.num_kv_heads = shard.kv_heads.size();
  desc_.intermediate_size = shard.intermediate.size();

  // What to cut from each layer tensor: rows [begin, end) of a [rows, cols] matrix, or its columns.
  struct Cut {
    int64_t rows, cols, begin, end;
    bool columns;
  };
  std::unordered_map<std::string, Cut> cuts;
  for (uint32_t l = 0; l < full.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    cuts[p + "attention.wq"] = {Q, H, q0, q1, false};
    cuts[p + "attention.wk"] = {KV, H, kv0, kv1, false};
    cuts[p + "attention.wv"] = {KV, H, kv0, kv1, false};
    if (full.has_qkv_bias) {
      cuts[p + "attention.bq"] = {Q, 0, q0, q1, false};
      cuts[p + "attention.bk"] = {KV, 0, kv0, kv1, false};
      cuts[p + "attention.bv"] = {KV, 0, kv0, kv1, false};
    }
    cuts[p + "attention.wo"] = {H, Q, q0, q1, true};
    cuts[p + "feed_forward.w1"] = {I, H, i0, i1, false};
    cuts[p + "feed_forward.w3"] = {I, H, i0, i1, false};
    cuts[p + "feed_forward.w2"] = {H, I, i0, i1, true};
  }
  views_.assign(full.tensors, full.tensors + full.num_tensors);
  for (lmrt_tensor_view& v : views_) {
    if (v.name == nullptr) continue;  // DeviceModel names the problem
    auto it = cuts.find(v.name);
    if (it == cuts.end()) continue;
    const Cut c = it->second;
    cuts.erase(it);  // a second view of the name is left to DeviceModel, which rejects it
    check_full(v, c.rows, c.cols);
    const size_t es = tensor_elem_size(v.dtype), width = static_cast<size_t>(c.end - c.begin);
    if (!c.columns) {
      const size_t row_bytes = (c.cols ? c.cols : 1) * es;
      v.data = static_cast<const char*>(v.data) + c.begin * row_bytes;
      v.shape[0] = c.end - c.begin;
      v.nbytes = width * row_bytes;
      continue;
    }
    auto copy = std::make_unique<char[]>(c.rows * width * es);
    const char* src = static_cast<const char*>(v.data);
    for (int64_t r = 0; r < c.rows; ++r)
      std::memcpy(copy.get() + r * width * es, src + (r * c.cols + c.begin) * es, width * es);
    v.data = copy.get();
    v.shape[1] = c.end - c.begin;
    v.nbytes = c.rows * width * es;
    copies_.push_back(std::move(copy));
  }
  if (!cuts.empty())
    throw Error(LMRT_STATUS_MODEL_ERROR, "turbomind-cuda-fp16: tensor '" + cuts.begin()->first + "' is missing");
  desc_.tensors = views_.data();
}

}  // namespace lmrt::tm
