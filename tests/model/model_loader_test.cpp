// load_model: the published stories260k pair, generated tiny models of every
// architecture, and every way a model folder can be wrong.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "lmrt/core/half.hpp"
#include "lmrt/core/model_loader.hpp"
#include "lmrt/core/safetensors.hpp"
#include "lmrt/core/safetensors_writer.hpp"
#include "lmrt/core/tiny_model.hpp"
#include "model_test_util.hpp"

namespace {

using lmrt::LoadedModel;
using lmrt::ModelArch;
using lmrt::TinyModelSpec;
using lmrt::test::expect_error;
using lmrt::test::TempDir;
using lmrt::test::testdata;

std::vector<int64_t> shape_of(const lmrt_tensor_view& v) { return std::vector<int64_t>(v.shape, v.shape + v.ndim); }

// Every tensor of `a` exists in `b` with the same dtype, shape and bytes, and vice versa.
void expect_same_tensors(const lmrt_model_desc& a, const lmrt_model_desc& b) {
  ASSERT_EQ(a.num_tensors, b.num_tensors);
  for (uint32_t i = 0; i < a.num_tensors; ++i) {
    const auto& ta = a.tensors[i];
    const auto* tb = lmrt::find_tensor(b, ta.name);
    ASSERT_NE(tb, nullptr) << ta.name;
    EXPECT_EQ(ta.dtype, tb->dtype) << ta.name;
    EXPECT_EQ(shape_of(ta), shape_of(*tb)) << ta.name;
    ASSERT_EQ(ta.nbytes, tb->nbytes) << ta.name;
    EXPECT_EQ(std::memcmp(ta.data, tb->data, ta.nbytes), 0) << ta.name << " differs";
  }
}

void expect_same_hparams(const lmrt_model_desc& a, const lmrt_model_desc& b) {
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.num_kv_heads, b.num_kv_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rope_scaling_type, b.rope_scaling_type);
}

// The canonical names model.h lists, for a description's hyper-parameters.
std::set<std::string> expected_names(const lmrt_model_desc& d) {
  std::set<std::string> names = {"tok_embeddings", "norm", "output"};
  for (uint32_t n = 0; n < d.num_layers; ++n) {
    const std::string p = "layers." + std::to_string(n) + ".";
    for (const char* s : {"attention_norm", "attention.wq", "attention.wk", "attention.wv", "attention.wo", "ffn_norm",
                          "feed_forward.w1", "feed_forward.w3", "feed_forward.w2"})
      names.insert(p + s);
    if (d.has_qkv_bias)
      for (const char* s : {"attention.bq", "attention.bk", "attention.bv"}) names.insert(p + s);
  }
  return names;
}

TEST(ModelLoader, Stories260kHyperParameters) {
  LMRT_REQUIRE_TESTDATA("models/stories260k");
  const LoadedModel m = lmrt::load_model(testdata("models/stories260k"));
  const auto& d = m.desc();
  EXPECT_EQ(d.struct_size, sizeof(lmrt_model_desc));
  EXPECT_STREQ(d.architecture, "llama");
  EXPECT_STREQ(d.format, "hf");
  EXPECT_EQ(m.name(), "stories260k");
  EXPECT_EQ(lmrt::load_model(testdata("models/stories260k/")).name(), "stories260k");
  EXPECT_EQ(m.hf_architecture(), "LlamaForCausalLM");
  EXPECT_EQ(m.model_type(), "llama");
  EXPECT_EQ(d.vocab_size, 512u);
  EXPECT_EQ(d.hidden_size, 64u);
  EXPECT_EQ(d.intermediate_size, 172u);
  EXPECT_EQ(d.num_layers, 5u);
  EXPECT_EQ(d.num_heads, 8u);
  EXPECT_EQ(d.num_kv_heads, 4u);
  EXPECT_EQ(d.head_dim, 8u);
  EXPECT_EQ(d.has_qkv_bias, 0u);
  EXPECT_FLOAT_EQ(d.rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(d.rope_theta, 10000.0f);
  EXPECT_EQ(d.rope_scaling_type, LMRT_ROPE_SCALING_NONE);
  EXPECT_EQ(d.rope_scaling_factor, 1.0f);
  EXPECT_EQ(d.original_max_position_embeddings, 512u);
  EXPECT_EQ(m.max_position_embeddings(), 512u);
  EXPECT_EQ(d.weight_dtype, LMRT_DTYPE_F32);
  EXPECT_EQ(m.bos_token_id(), 1);
  EXPECT_EQ(m.eos_token_ids(), (std::vector<int32_t>{2}));
  std::set<std::string> names;
  for (uint32_t i = 0; i < d.num_tensors; ++i) {
    EXPECT_EQ(d.tensors[i].struct_size, sizeof(lmrt_tensor_view));
    names.insert(d.tensors[i].name);
  }
  EXPECT_EQ(names, expected_names(d));
  EXPECT_EQ(shape_of(lmrt::require_tensor(d, "layers.4.attention.wk")), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(shape_of(lmrt::require_tensor(d, "layers.0.feed_forward.w2")), (std::vector<int64_t>{64, 172}));
  expect_error([&] { lmrt::require_tensor(d, "layers.9.attention.wq"); }, {"layers.9.attention.wq"},
               LMRT_STATUS_NOT_FOUND);
}

TEST(ModelLoader, Stories260kViewsAreTheCheckpointBytes) {
  LMRT_REQUIRE_TESTDATA("models/stories260k");
  const LoadedModel m = lmrt::load_model(testdata("models/stories260k"));
  const lmrt::SafetensorsFile raw(testdata("models/stories260k/model.safetensors"));
  const std::pair<const char*, const char*> pairs[] = {
      {"tok_embeddings", "model.embed_tokens.weight"},
      {"output", "lm_head.weight"},
      {"norm", "model.norm.weight"},
      {"layers.3.attention.wq", "model.layers.3.self_attn.q_proj.weight"},
      {"layers.3.attention.wo", "model.layers.3.self_attn.o_proj.weight"},
      {"layers.2.ffn_norm", "model.layers.2.post_attention_layernorm.weight"},
      {"layers.1.feed_forward.w1", "model.layers.1.mlp.gate_proj.weight"},
      {"layers.1.feed_forward.w3", "model.layers.1.mlp.up_proj.weight"},
  };
  for (const auto& [canonical, hf] : pairs) {
    const auto& v = lmrt::require_tensor(m.desc(), canonical);
    const auto& t = raw.at(hf);
    ASSERT_EQ(v.nbytes, t.nbytes) << canonical;
    EXPECT_EQ(std::memcmp(v.data, t.data, t.nbytes), 0) << canonical;
  }
}

TEST(ModelLoader, Stories260kLlamaAndInternLM2GiveIdenticalTensors) {
  LMRT_REQUIRE_TESTDATA("models/stories260k");
  LMRT_REQUIRE_TESTDATA("models/stories260k-internlm2");
  const LoadedModel llama = lmrt::load_model(testdata("models/stories260k"));
  const LoadedModel internlm2 = lmrt::load_model(testdata("models/stories260k-internlm2"));
  EXPECT_STREQ(internlm2.desc().architecture, "internlm2");
  EXPECT_EQ(internlm2.hf_architecture(), "InternLM2ForCausalLM");
  expect_same_hparams(llama.desc(), internlm2.desc());
  expect_same_tensors(llama.desc(), internlm2.desc());
}

// The de-interleave, recomputed row by row from the raw wqkv with its own indexing.
TEST(ModelLoader, InternLM2WqkvSplitRowByRow) {
  LMRT_REQUIRE_TESTDATA("models/stories260k-internlm2");
  const LoadedModel m = lmrt::load_model(testdata("models/stories260k-internlm2"));
  const lmrt::SafetensorsFile raw(testdata("models/stories260k-internlm2/model.safetensors"));
  const auto& d = m.desc();
  const size_t D = d.head_dim, G = d.num_heads / d.num_kv_heads, row_bytes = d.hidden_size * 4;
  for (uint32_t layer = 0; layer < d.num_layers; ++layer) {
    const auto& wqkv = raw.at("model.layers." + std::to_string(layer) + ".attention.wqkv.weight");
    const std::string p = "layers." + std::to_string(layer) + ".attention.";
    const auto &wq = lmrt::require_tensor(d, p + "wq"), &wk = lmrt::require_tensor(d, p + "wk"),
               &wv = lmrt::require_tensor(d, p + "wv");
    for (size_t r = 0; r < static_cast<size_t>(wqkv.shape[0]); ++r) {
      const size_t group = r / ((G + 2) * D), slot = (r % ((G + 2) * D)) / D, dim = r % D;
      const auto* src = wqkv.data + r * row_bytes;
      const void* dst = slot < G    ? static_cast<const char*>(wq.data) + ((group * G + slot) * D + dim) * row_bytes
                        : slot == G ? static_cast<const char*>(wk.data) + (group * D + dim) * row_bytes
                                    : static_cast<const char*>(wv.data) + (group * D + dim) * row_bytes;
      ASSERT_EQ(std::memcmp(src, dst, row_bytes), 0) << "layer " << layer << " wqkv row " << r;
    }
  }
}

TinyModelSpec spec_for(ModelArch arch) {
  TinyModelSpec s;
  s.arch = arch;
  s.seed = 42;
  return s;
}

LoadedModel make_and_load(const std::filesystem::path& dir, const TinyModelSpec& s,
                          const lmrt::ModelLoadOptions& options = {}) {
  lmrt::write_tiny_model(dir, s);
  return lmrt::load_model(dir, options);
}

TEST(ModelLoader, TinyLlamaAndInternLM2GiveIdenticalTensors) {
  // Grouped (2 query heads per KV head), multi-head (1) and multi-query (4), and a head_dim override.
  for (auto [kv_heads, head_dim] : {std::pair{2u, 0u}, {4u, 0u}, {1u, 0u}, {2u, 24u}}) {
    SCOPED_TRACE("kv_heads " + std::to_string(kv_heads) + " head_dim " + std::to_string(head_dim));
    TempDir tmp;
    TinyModelSpec s = spec_for(ModelArch::llama);
    s.kv_heads = kv_heads;
    s.head_dim = head_dim;
    const LoadedModel llama = make_and_load(tmp / "llama", s);
    s.arch = ModelArch::internlm2;
    const LoadedModel internlm2 = make_and_load(tmp / "internlm2", s);
    EXPECT_EQ(llama.desc().head_dim, head_dim ? head_dim : 16u);
    EXPECT_EQ(shape_of(lmrt::require_tensor(internlm2.desc(), "layers.1.attention.wk")),
              (std::vector<int64_t>{kv_heads * llama.desc().head_dim, 64}));
    expect_same_hparams(llama.desc(), internlm2.desc());
    expect_same_tensors(llama.desc(), internlm2.desc());
    // A different seed gives different weights (the comparison above is not vacuous).
    s.seed = 43;
    const LoadedModel other = make_and_load(tmp / "other", s);
    const auto& a = lmrt::require_tensor(internlm2.desc(), "layers.0.attention.wv");
    EXPECT_NE(std::memcmp(a.data, lmrt::require_tensor(other.desc(), "layers.0.attention.wv").data, a.nbytes), 0);
  }
}

TEST(ModelLoader, TinyQwen2HasBiasesAndOtherwiseMatchesLlama) {
  TempDir tmp;
  const LoadedModel llama = make_and_load(tmp / "llama", spec_for(ModelArch::llama));
  const LoadedModel qwen2 = make_and_load(tmp / "qwen2", spec_for(ModelArch::qwen2));
  const auto& q = qwen2.desc();
  EXPECT_STREQ(q.architecture, "qwen2");
  EXPECT_EQ(q.has_qkv_bias, 1u);
  EXPECT_EQ(q.num_tensors, llama.desc().num_tensors + 3 * q.num_layers);
  std::set<std::string> names;
  for (uint32_t i = 0; i < q.num_tensors; ++i) names.insert(q.tensors[i].name);
  EXPECT_EQ(names, expected_names(q));
  EXPECT_EQ(shape_of(lmrt::require_tensor(q, "layers.0.attention.bq")), (std::vector<int64_t>{64}));
  EXPECT_EQ(shape_of(lmrt::require_tensor(q, "layers.1.attention.bk")), (std::vector<int64_t>{32}));
  for (uint32_t i = 0; i < llama.desc().num_tensors; ++i) {
    const auto& t = llama.desc().tensors[i];
    const auto& u = lmrt::require_tensor(q, t.name);
    ASSERT_EQ(t.nbytes, u.nbytes);
    EXPECT_EQ(std::memcmp(t.data, u.data, t.nbytes), 0) << t.name;
  }
}

TEST(ModelLoader, ShardedEqualsSingle) {
  for (ModelArch arch : {ModelArch::llama, ModelArch::internlm2}) {
    TempDir tmp;
    TinyModelSpec s = spec_for(arch);
    const LoadedModel single = make_and_load(tmp / "single", s);
    s.shards = 3;
    const LoadedModel sharded = make_and_load(tmp / "sharded", s);
    EXPECT_TRUE(std::filesystem::exists(tmp / "sharded" / "model.safetensors.index.json"));
    EXPECT_FALSE(std::filesystem::exists(tmp / "sharded" / "model.safetensors"));
    expect_same_tensors(single.desc(), sharded.desc());
  }
}

TEST(ModelLoader, HalfPrecisionCheckpointsMatchRoundedF32) {
  for (lmrt_dtype dtype : {LMRT_DTYPE_F16, LMRT_DTYPE_BF16}) {
    TempDir tmp;
    TinyModelSpec s = spec_for(ModelArch::internlm2);
    const LoadedModel f32 = make_and_load(tmp / "f32", s);
    s.dtype = dtype;
    const LoadedModel half = make_and_load(tmp / "half", s);
    EXPECT_EQ(half.desc().weight_dtype, dtype);
    for (uint32_t i = 0; i < f32.desc().num_tensors; ++i) {
      const auto& a = f32.desc().tensors[i];
      const auto& b = lmrt::require_tensor(half.desc(), a.name);
      ASSERT_EQ(b.dtype, dtype);
      ASSERT_EQ(b.nbytes * 2, a.nbytes);
      const auto fa = lmrt::tensor_to_f32(a), fb = lmrt::tensor_to_f32(b);
      for (size_t k = 0; k < fa.size(); ++k) {
        const float want = dtype == LMRT_DTYPE_F16 ? lmrt::f16_to_f32(lmrt::f32_to_f16(fa[k]))
                                                   : lmrt::bf16_to_f32(lmrt::f32_to_bf16(fa[k]));
        ASSERT_EQ(fb[k], want) << a.name << "[" << k << "]";
      }
    }
  }
}

TEST(ModelLoader, TiedEmbeddingsShareData) {
  for (ModelArch arch : {ModelArch::llama, ModelArch::qwen2, ModelArch::internlm2}) {
    TempDir tmp;
    TinyModelSpec s = spec_for(arch);
    s.tie = true;
    const LoadedModel m = make_and_load(tmp / "m", s);
    EXPECT_EQ(m.desc().tie_word_embeddings, 1u);
    const auto& out = lmrt::require_tensor(m.desc(), "output");
    const auto& emb = lmrt::require_tensor(m.desc(), "tok_embeddings");
    EXPECT_EQ(out.data, emb.data);
    EXPECT_EQ(shape_of(out), shape_of(emb));
    EXPECT_EQ(lmrt::SafetensorsFile(tmp / "m" / "model.safetensors").find("lm_head.weight"), nullptr);
  }
}

TEST(ModelLoader, MovingKeepsTheDescriptionValid) {
  TempDir tmp;
  LoadedModel a = make_and_load(tmp / "m", spec_for(ModelArch::internlm2));
  const lmrt_tensor_view* wq = a.find("layers.0.attention.wq");
  const std::vector<float> before = lmrt::tensor_to_f32(*wq);
  LoadedModel b = std::move(a);
  EXPECT_EQ(b.find("layers.0.attention.wq"), wq);
  EXPECT_EQ(lmrt::tensor_to_f32(*b.find("layers.0.attention.wq")), before);
  EXPECT_STREQ(b.desc().architecture, "internlm2");
}

TEST(ModelLoader, RopeScalingOverride) {
  TempDir tmp;
  TinyModelSpec s = spec_for(ModelArch::llama);
  lmrt::write_tiny_model(tmp / "plain", s);
  // No rope_scaling in the config: the option means dynamic NTK (LMDeploy's --rope-scaling-factor).
  LoadedModel m = lmrt::load_model(tmp / "plain", {.rope_scaling_factor = 2.5f});
  EXPECT_EQ(m.desc().rope_scaling_type, LMRT_ROPE_SCALING_DYNAMIC);
  EXPECT_FLOAT_EQ(m.desc().rope_scaling_factor, 2.5f);
  EXPECT_EQ(m.desc().original_max_position_embeddings, 512u);
  m = lmrt::load_model(tmp / "plain");
  EXPECT_EQ(m.desc().rope_scaling_type, LMRT_ROPE_SCALING_NONE);
  EXPECT_EQ(m.desc().rope_scaling_factor, 1.0f);

  s.rope_scaling = LMRT_ROPE_SCALING_LINEAR;
  s.rope_scaling_factor = 2.0f;
  lmrt::write_tiny_model(tmp / "linear", s);
  m = lmrt::load_model(tmp / "linear");
  EXPECT_EQ(m.desc().rope_scaling_type, LMRT_ROPE_SCALING_LINEAR);
  EXPECT_FLOAT_EQ(m.desc().rope_scaling_factor, 2.0f);
  m = lmrt::load_model(tmp / "linear", {.rope_scaling_factor = 4.0f});  // keeps the type, replaces the factor
  EXPECT_EQ(m.desc().rope_scaling_type, LMRT_ROPE_SCALING_LINEAR);
  EXPECT_FLOAT_EQ(m.desc().rope_scaling_factor, 4.0f);

  expect_error([&] { lmrt::load_model(tmp / "plain", {.rope_scaling_factor = -1.0f}); }, {"rope_scaling_factor"},
               LMRT_STATUS_INVALID_ARGUMENT);
}

// Rewrites dir/model.safetensors through `edit`, which may change the tensor list.
struct RawTensor {
  std::string name;
  lmrt_dtype dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
template <typename Edit>
void rewrite_checkpoint(const std::filesystem::path& dir, Edit edit) {
  std::vector<RawTensor> tensors;
  {
    const lmrt::SafetensorsFile f(dir / "model.safetensors");
    for (const auto& t : f.tensors())
      tensors.push_back({t.name, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes)});
  }
  edit(tensors);
  lmrt::SafetensorsWriter w;
  for (const auto& t : tensors) w.add(t.name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
  w.write(dir / "model.safetensors");
}

TEST(ModelLoader, MissingTensorIsNamed) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    std::erase_if(ts, [](const RawTensor& t) { return t.name == "model.layers.1.mlp.up_proj.weight"; });
  });
  expect_error([&] { lmrt::load_model(tmp.path()); },
               {"missing tensor 'model.layers.1.mlp.up_proj.weight'", "layers.1.feed_forward.w3", "[128, 64]"},
               LMRT_STATUS_MODEL_ERROR);
}

TEST(ModelLoader, MissingLmHeadWhenNotTied) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::internlm2));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    std::erase_if(ts, [](const RawTensor& t) { return t.name == "output.weight"; });
  });
  expect_error([&] { lmrt::load_model(tmp.path()); }, {"missing tensor 'output.weight'"}, LMRT_STATUS_MODEL_ERROR);
}

TEST(ModelLoader, MisShapedTensorNamesBothShapes) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::internlm2));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    for (auto& t : ts)
      if (t.name == "model.layers.0.attention.wqkv.weight") t.shape = {64, 128};  // same bytes, transposed shape
  });
  expect_error([&] { lmrt::load_model(tmp.path()); },
               {"model.safetensors", "tensor 'model.layers.0.attention.wqkv.weight'", "shape [64, 128]",
                "expected [128, 64]"},
               LMRT_STATUS_MODEL_ERROR);
}

TEST(ModelLoader, NonFloatTensorIsRejected) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    for (auto& t : ts)
      if (t.name == "model.norm.weight") t.dtype = LMRT_DTYPE_I32;  // 64 x 4 bytes either way
  });
  expect_error([&] { lmrt::load_model(tmp.path()); }, {"tensor 'model.norm.weight'", "dtype I32", "float dtype"},
               LMRT_STATUS_MODEL_ERROR);
}

TEST(ModelLoader, MixedFloatDtypesAreAllowed) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    for (auto& t : ts)
      if (t.name.find("norm") != std::string::npos) {
        std::vector<float> f(t.bytes.size() / 4);
        std::memcpy(f.data(), t.bytes.data(), t.bytes.size());
        t.bytes.assign(f.size() * 2, '\0');
        lmrt::convert_from_f32(f.data(), f.size(), LMRT_DTYPE_BF16, t.bytes.data());
        t.dtype = LMRT_DTYPE_BF16;
      }
  });
  const LoadedModel m = lmrt::load_model(tmp.path());
  EXPECT_EQ(lmrt::require_tensor(m.desc(), "norm").dtype, LMRT_DTYPE_BF16);
  EXPECT_EQ(lmrt::require_tensor(m.desc(), "layers.0.attention.wq").dtype, LMRT_DTYPE_F32);
  EXPECT_EQ(m.desc().weight_dtype, LMRT_DTYPE_F32);  // most weight elements are f32
}

TEST(ModelLoader, UnusedBiasIsAnError) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    ts.push_back({"model.layers.0.self_attn.o_proj.bias", LMRT_DTYPE_F32, {64}, std::string(256, '\0')});
    ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", LMRT_DTYPE_F32, {8}, std::string(32, '\0')});
  });
  expect_error([&] { lmrt::load_model(tmp.path()); }, {"model.layers.0.self_attn.o_proj.bias", "unsupported"},
               LMRT_STATUS_UNSUPPORTED);
}

TEST(ModelLoader, ExtraNonBiasTensorsAreIgnored) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  rewrite_checkpoint(tmp.path(), [](std::vector<RawTensor>& ts) {
    ts.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", LMRT_DTYPE_F32, {8}, std::string(32, '\0')});
  });
  EXPECT_EQ(lmrt::load_model(tmp.path()).desc().num_tensors, 3u + 2u * 9u);
}

TEST(ModelLoader, MissingShardFile) {
  TempDir tmp;
  TinyModelSpec s = spec_for(ModelArch::qwen2);
  s.shards = 2;
  lmrt::write_tiny_model(tmp.path(), s);
  std::filesystem::remove(tmp / "model-00001-of-00002.safetensors");
  expect_error([&] { lmrt::load_model(tmp.path()); },
               {"model.safetensors.index.json", "model-00001-of-00002.safetensors", "does not exist"},
               LMRT_STATUS_NOT_FOUND);
}

TEST(ModelLoader, FolderProblems) {
  TempDir tmp;
  expect_error([&] { lmrt::load_model(tmp / "absent"); }, {"absent", "does not exist"}, LMRT_STATUS_NOT_FOUND);
  expect_error([&] { lmrt::load_model(tmp.path()); }, {"no config.json"}, LMRT_STATUS_NOT_FOUND);
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  std::filesystem::remove(tmp / "model.safetensors");
  expect_error([&] { lmrt::load_model(tmp.path()); }, {"no model.safetensors or model.safetensors.index.json"},
               LMRT_STATUS_NOT_FOUND);
}

TEST(ModelLoader, ConfigThatDisagreesWithWeights) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp.path(), spec_for(ModelArch::llama));
  std::ifstream in(tmp / "config.json");
  auto cfg = nlohmann::json::parse(in);
  in.close();
  cfg["intermediate_size"] = 96;
  lmrt::test::write_bytes(tmp / "config.json", cfg.dump());
  expect_error([&] { lmrt::load_model(tmp.path()); },
               {"tensor 'model.layers.0.mlp.gate_proj.weight'", "shape [128, 64]", "expected [96, 64]"},
               LMRT_STATUS_MODEL_ERROR);
}

TEST(TinyModel, SpecErrors) {
  TempDir tmp;
  TinyModelSpec s;
  s.kv_heads = 3;
  expect_error([&] { lmrt::write_tiny_model(tmp.path(), s); }, {"kv_heads"}, LMRT_STATUS_INVALID_ARGUMENT);
  expect_error([&] { lmrt::parse_arch("gpt2"); }, {"gpt2", "llama, internlm2 or qwen2"}, LMRT_STATUS_INVALID_ARGUMENT);
  expect_error([&] { lmrt::parse_float_dtype("f8"); }, {"f8"}, LMRT_STATUS_INVALID_ARGUMENT);
}

TEST(TinyModel, DeterministicFromSeed) {
  TempDir tmp;
  lmrt::write_tiny_model(tmp / "a", spec_for(ModelArch::qwen2));
  lmrt::write_tiny_model(tmp / "b", spec_for(ModelArch::qwen2));
  EXPECT_EQ(lmrt::test::read_bytes(tmp / "a" / "model.safetensors"), lmrt::test::read_bytes(tmp / "b" / "model.safetensors"));
  // Weights look like an initialised model: mean ~0, std ~0.02; norms ~1.
  const LoadedModel m = lmrt::load_model(tmp / "a");
  const auto w = lmrt::tensor_to_f32(lmrt::require_tensor(m.desc(), "layers.0.feed_forward.w1"));
  double sum = 0, sq = 0;
  for (float v : w) sum += v, sq += double(v) * v;
  const double mean = sum / w.size(), sd = std::sqrt(sq / w.size() - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.002);
  EXPECT_NEAR(sd, 0.02, 0.002);
  const auto n = lmrt::tensor_to_f32(lmrt::require_tensor(m.desc(), "norm"));
  double nsum = 0;
  for (float v : n) nsum += v;
  EXPECT_NEAR(nsum / n.size(), 1.0, 0.05);
}

}  // namespace
