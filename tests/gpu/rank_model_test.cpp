// The GPU engine's tensor-parallel cut of a model description (backends/turbomind-cuda-fp16/rank_model.hpp), on
// the host: every rank's views against the full tensors element by element, and bad descriptions. No GPU needed.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "lmrt/plugin.hpp"
#include "rank_model.hpp"

namespace {

// A model description of fp32 tensors whose elements are their own (tensor, flat index) codes, so that a wrong
// slice shows as a wrong value.
struct FakeModel {
  uint32_t H = 16, heads = 4, kv_heads = 2, hd = 4, I = 24, layers = 2, vocab = 10;
  bool bias = true;
  std::map<std::string, std::vector<float>> data;
  std::map<std::string, std::vector<int64_t>> shapes;
  std::vector<lmrt_tensor_view> views;
  lmrt_model_desc desc{};

  FakeModel() {
    const int64_t Q = heads * hd, KV = kv_heads * hd;
    add("tok_embeddings", {vocab, H});
    add("norm", {H});
    add("output", {vocab, H});
    for (uint32_t l = 0; l < layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      add(p + "attention_norm", {H});
      add(p + "attention.wq", {Q, H});
      add(p + "attention.wk", {KV, H});
      add(p + "attention.wv", {KV, H});
      if (bias) add(p + "attention.bq", {Q}), add(p + "attention.bk", {KV}), add(p + "attention.bv", {KV});
      add(p + "attention.wo", {H, Q});
      add(p + "ffn_norm", {H});
      add(p + "feed_forward.w1", {I, H});
      add(p + "feed_forward.w3", {I, H});
      add(p + "feed_forward.w2", {H, I});
    }
    build();
  }
  void add(const std::string& name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<float>& v = data[name];
    v.resize(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(data.size() * 100000 + i);
    shapes[name] = shape;
  }
  void build() {
    views.clear();
    for (auto& [name, v] : data) {
      lmrt_tensor_view t{};
      t.struct_size = sizeof(t);
      t.dtype = LMRT_DTYPE_F32;
      t.name = name.c_str();
      t.ndim = static_cast<uint32_t>(shapes[name].size());
      for (uint32_t d = 0; d < t.ndim; ++d) t.shape[d] = shapes[name][d];
      t.data = v.data();
      t.nbytes = v.size() * 4;
      views.push_back(t);
    }
    desc = lmrt_model_desc{};
    desc.struct_size = sizeof(desc);
    desc.format = "hf";
    desc.vocab_size = vocab, desc.hidden_size = H, desc.intermediate_size = I, desc.num_layers = layers;
    desc.num_heads = heads, desc.num_kv_heads = kv_heads, desc.head_dim = hd, desc.has_qkv_bias = bias;
    desc.num_tensors = static_cast<uint32_t>(views.size());
    desc.tensors = views.data();
  }
  float at(const std::string& name, int64_t row, int64_t col) const {
    const auto& s = shapes.at(name);
    return data.at(name)[s.size() == 1 ? row : row * s[1] + col];
  }
};

const lmrt_tensor_view& find(const lmrt_model_desc& d, const std::string& name) {
  for (uint32_t i = 0; i < d.num_tensors; ++i)
    if (name == d.tensors[i].name) return d.tensors[i];
  throw std::runtime_error("no tensor " + name);
}

float value(const lmrt_tensor_view& t, int64_t row, int64_t col) {
  const float* p = static_cast<const float*>(t.data);
  return t.ndim == 1 ? p[row] : p[row * t.shape[1] + col];
}

}  // namespace

// tp 2 splits the KV heads, tp 4 replicates them (2 KV heads): every rank's tensors hold exactly its rows and
// columns of the full ones, the shape fields are the rank's, and the replicated tensors are the full model's views.
TEST(RankModel, EveryRankHoldsItsRowsAndColumns) {
  FakeModel m;
  const int64_t hd = m.hd;
  for (uint32_t tp : {1u, 2u, 4u}) {
    const lmrt::tp::Plan plan(lmrt::tm::model_dims(m.desc), tp);
    for (uint32_t r = 0; r < tp; ++r) {
      const lmrt::tp::RankShard s = plan.shard(r);
      const lmrt::tm::RankModel rank(m.desc, s);
      const lmrt_model_desc& d = rank.desc();
      EXPECT_EQ(d.num_heads, m.heads / tp);
      EXPECT_EQ(d.num_kv_heads, s.kv_heads.size());
      EXPECT_EQ(d.intermediate_size, m.I / tp);
      EXPECT_EQ(d.hidden_size, m.H);
      ASSERT_EQ(d.num_tensors, m.desc.num_tensors);
      EXPECT_EQ(find(d, "tok_embeddings").data, find(m.desc, "tok_embeddings").data);
      for (uint32_t l = 0; l < m.layers; ++l) {
        const std::string p = "layers." + std::to_string(l) + ".";
        const int64_t q0 = s.q_heads.begin * hd, kv0 = s.kv_heads.begin * hd, i0 = s.intermediate.begin;
        const int64_t q = s.q_heads.size() * hd, kv = s.kv_heads.size() * hd, inter = s.intermediate.size();
        struct Rows {
          const char* name;
          int64_t begin, count, cols;
        };
        for (const Rows& c : {Rows{"attention.wq", q0, q, m.H}, Rows{"attention.wk", kv0, kv, m.H},
                              Rows{"attention.wv", kv0, kv, m.H}, Rows{"attention.bq", q0, q, 0},
                              Rows{"attention.bk", kv0, kv, 0}, Rows{"attention.bv", kv0, kv, 0},
                              Rows{"feed_forward.w1", i0, inter, m.H}, Rows{"feed_forward.w3", i0, inter, m.H}}) {
          const lmrt_tensor_view& t = find(d, p + c.name);
          ASSERT_EQ(t.shape[0], c.count) << c.name;
          EXPECT_EQ(t.nbytes, static_cast<uint64_t>(c.count * (c.cols ? c.cols : 1) * 4)) << c.name;
          for (int64_t row = 0; row < c.count; ++row)
            for (int64_t col = 0; col < (c.cols ? c.cols : 1); ++col)
              ASSERT_EQ(value(t, row, col), m.at(p + c.name, c.begin + row, col)) << c.name << " tp " << tp;
        }
        for (const auto& [name, begin, width] : {std::tuple<const char*, int64_t, int64_t>{"attention.wo", q0, q},
                                                 {"feed_forward.w2", i0, inter}}) {
          const lmrt_tensor_view& t = find(d, p + name);
          ASSERT_EQ(t.shape[0], m.H);
          ASSERT_EQ(t.shape[1], width);
          EXPECT_EQ(t.nbytes, static_cast<uint64_t>(m.H * width * 4));
          for (int64_t row = 0; row < m.H; ++row)
            for (int64_t col = 0; col < width; ++col)
              ASSERT_EQ(value(t, row, col), m.at(p + name, row, begin + col)) << name << " tp " << tp;
        }
      }
    }
  }
}

namespace {

// The MODEL_ERROR message of cutting rank 1 of 2 from `m`, or "accepted".
std::string cut_error(const FakeModel& m) {
  const lmrt::tp::RankShard shard = lmrt::tp::Plan(lmrt::tm::model_dims(m.desc), 2).shard(1);
  try {
    lmrt::tm::RankModel rank(m.desc, shard);
  } catch (const lmrt::plugin::Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_MODEL_ERROR) << e.what();
    return e.what();
  }
  return "accepted";
}

}  // namespace

// A tensor to cut that is missing, or whose shape is not the full model's, is a MODEL_ERROR naming it.
TEST(RankModel, MissingOrMisShapedTensorsAreNamed) {
  FakeModel missing;
  missing.data.erase("layers.1.feed_forward.w2");
  missing.build();
  const std::string a = cut_error(missing);
  EXPECT_NE(a.find("'layers.1.feed_forward.w2' is missing"), std::string::npos) << a;

  FakeModel narrow;
  narrow.shapes["layers.0.attention.wo"] = {narrow.H, narrow.heads * narrow.hd - 1};
  narrow.data["layers.0.attention.wo"].resize(narrow.H * (narrow.heads * narrow.hd - 1));
  narrow.build();
  const std::string b = cut_error(narrow);
  EXPECT_NE(b.find("'layers.0.attention.wo' cannot be split"), std::string::npos) << b;
  EXPECT_NE(b.find("[16, 16]"), std::string::npos) << b;
}
