// config.json / generation_config.json parsing and its errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lmrt/core/hf_config.hpp"
#include "model_test_util.hpp"

namespace {

using json = nlohmann::json;
using lmrt::HfConfig;
using lmrt::ModelArch;
using lmrt::test::expect_error;
using lmrt::test::TempDir;
using lmrt::test::write_bytes;

json base_config() {
  return json{{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"}, {"hidden_size", 64},
              {"num_hidden_layers", 2},  {"num_attention_heads", 4},           {"vocab_size", 256},
              {"intermediate_size", 128}};
}

HfConfig parse(const TempDir& tmp, const json& cfg) {
  write_bytes(tmp / "config.json", cfg.dump());
  return lmrt::read_hf_config(tmp.path());
}

TEST(HfConfig, DefaultsAndDerivedValues) {
  TempDir tmp;
  const HfConfig c = parse(tmp, base_config());
  EXPECT_EQ(c.arch, ModelArch::llama);
  EXPECT_EQ(c.hf_architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.num_kv_heads, 4u);  // defaults to the number of heads
  EXPECT_EQ(c.head_dim, 16u);     // hidden / heads
  EXPECT_EQ(c.rope_scaling, LMRT_ROPE_SCALING_NONE);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.has_qkv_bias);
  EXPECT_FLOAT_EQ(c.rope_theta, 10000.0f);
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_FALSE(c.bos_token_id.has_value());
}

TEST(HfConfig, ExplicitValues) {
  TempDir tmp;
  json cfg = base_config();
  cfg["architectures"] = {"Qwen2ForCausalLM"};
  cfg["model_type"] = "qwen2";
  cfg["num_key_value_heads"] = 2;
  cfg["head_dim"] = 32;
  cfg["rms_norm_eps"] = 1e-5;
  cfg["rope_theta"] = 1000000;  // an integer in many Qwen2 configs
  cfg["max_position_embeddings"] = 4096;
  cfg["tie_word_embeddings"] = true;
  cfg["bos_token_id"] = 151643;
  cfg["eos_token_id"] = 151645;
  write_bytes(tmp / "generation_config.json", R"({"eos_token_id": [151645, 151643], "bos_token_id": 151643})");
  const HfConfig c = parse(tmp, cfg);
  EXPECT_EQ(c.arch, ModelArch::qwen2);
  EXPECT_TRUE(c.has_qkv_bias);
  EXPECT_EQ(c.num_kv_heads, 2u);
  EXPECT_EQ(c.head_dim, 32u);
  EXPECT_FLOAT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 1e6f);
  EXPECT_EQ(c.max_position_embeddings, 4096u);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int32_t>{151645, 151643}));
}

TEST(HfConfig, EosFromBothFilesWithoutDuplicates) {
  TempDir tmp;
  json cfg = base_config();
  cfg["eos_token_id"] = {2, 7};
  write_bytes(tmp / "generation_config.json", R"({"eos_token_id": 9})");
  EXPECT_EQ(parse(tmp, cfg).eos_token_ids, (std::vector<int32_t>{9, 2, 7}));
  write_bytes(tmp / "generation_config.json", R"({"eos_token_id": [7]})");
  EXPECT_EQ(parse(tmp, cfg).eos_token_ids, (std::vector<int32_t>{7, 2}));
  write_bytes(tmp / "generation_config.json", R"({"eos_token_id": "x"})");
  expect_error([&] { parse(tmp, cfg); }, {"generation_config.json", "eos_token_id"}, LMRT_STATUS_MODEL_ERROR);
  write_bytes(tmp / "generation_config.json", R"({"eos_token_id": )");
  expect_error([&] { parse(tmp, cfg); }, {"generation_config.json", "bad JSON"}, LMRT_STATUS_MODEL_ERROR);
}

TEST(HfConfig, ArchitectureByModelTypeWhenNoList) {
  TempDir tmp;
  json cfg = base_config();
  cfg.erase("architectures");
  cfg["model_type"] = "internlm2";
  const HfConfig c = parse(tmp, cfg);
  EXPECT_EQ(c.arch, ModelArch::internlm2);
  EXPECT_EQ(c.hf_architecture, "InternLM2ForCausalLM");
}

TEST(HfConfig, RopeScaling) {
  TempDir tmp;
  json cfg = base_config();
  cfg["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  HfConfig c = parse(tmp, cfg);
  EXPECT_EQ(c.rope_scaling, LMRT_ROPE_SCALING_LINEAR);
  EXPECT_FLOAT_EQ(c.rope_scaling_factor, 2.0f);
  cfg["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 4}};
  c = parse(tmp, cfg);
  EXPECT_EQ(c.rope_scaling, LMRT_ROPE_SCALING_DYNAMIC);
  EXPECT_FLOAT_EQ(c.rope_scaling_factor, 4.0f);
  cfg["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse(tmp, cfg).rope_scaling, LMRT_ROPE_SCALING_NONE);
  cfg["rope_scaling"] = nullptr;
  EXPECT_EQ(parse(tmp, cfg).rope_scaling, LMRT_ROPE_SCALING_NONE);
}

TEST(HfConfig, BadRopeScaling) {
  TempDir tmp;
  json cfg = base_config();
  cfg["rope_scaling"] = {{"type", "yarn"}, {"factor", 2.0}};
  expect_error([&] { parse(tmp, cfg); }, {"config.json", "rope_scaling type 'yarn'", "linear, dynamic"},
               LMRT_STATUS_UNSUPPORTED);
  cfg["rope_scaling"] = {{"type", "linear"}};
  expect_error([&] { parse(tmp, cfg); }, {"bad rope_scaling", "factor"}, LMRT_STATUS_MODEL_ERROR);
  cfg["rope_scaling"] = {{"type", "dynamic"}, {"factor", -1}};
  expect_error([&] { parse(tmp, cfg); }, {"bad rope_scaling", "positive"}, LMRT_STATUS_MODEL_ERROR);
  cfg["rope_scaling"] = {{"factor", 2.0}};
  expect_error([&] { parse(tmp, cfg); }, {"bad rope_scaling", "\"type\""}, LMRT_STATUS_MODEL_ERROR);
  cfg["rope_scaling"] = "linear";
  expect_error([&] { parse(tmp, cfg); }, {"bad rope_scaling", "object"}, LMRT_STATUS_MODEL_ERROR);
}

TEST(HfConfig, MissingRequiredKeysAreNamed) {
  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size", "intermediate_size"}) {
    SCOPED_TRACE(key);
    TempDir tmp;
    json cfg = base_config();
    cfg.erase(key);
    expect_error([&] { parse(tmp, cfg); }, {"config.json", std::string("missing required key \"") + key + "\""},
                 LMRT_STATUS_MODEL_ERROR);
  }
}

TEST(HfConfig, InvalidValues) {
  TempDir tmp;
  json cfg = base_config();
  cfg["hidden_size"] = "64";
  expect_error([&] { parse(tmp, cfg); }, {"\"hidden_size\" must be a positive integer"}, LMRT_STATUS_MODEL_ERROR);
  cfg = base_config();
  cfg["num_key_value_heads"] = 3;
  expect_error([&] { parse(tmp, cfg); }, {"not a multiple of num_key_value_heads"}, LMRT_STATUS_MODEL_ERROR);
  cfg = base_config();
  cfg["num_attention_heads"] = 5;
  expect_error([&] { parse(tmp, cfg); }, {"hidden_size (64) is not a multiple of num_attention_heads (5)"},
               LMRT_STATUS_MODEL_ERROR);
  cfg = base_config();
  cfg["rms_norm_eps"] = -1;
  expect_error([&] { parse(tmp, cfg); }, {"rms_norm_eps"}, LMRT_STATUS_MODEL_ERROR);
  cfg = base_config();
  cfg["hidden_act"] = "gelu";
  expect_error([&] { parse(tmp, cfg); }, {"hidden_act", "gelu"}, LMRT_STATUS_UNSUPPORTED);
  cfg = base_config();
  cfg["attention_bias"] = true;
  expect_error([&] { parse(tmp, cfg); }, {"attention_bias"}, LMRT_STATUS_UNSUPPORTED);
  write_bytes(tmp / "config.json", "{\"hidden_size\": 64,");
  expect_error([&] { lmrt::read_hf_config(tmp.path()); }, {"config.json", "bad JSON"}, LMRT_STATUS_MODEL_ERROR);
}

TEST(HfConfig, UnknownArchitectureListsSupported) {
  TempDir tmp;
  json cfg = base_config();
  cfg["architectures"] = {"MistralForCausalLM"};
  cfg["model_type"] = "mistral";
  expect_error([&] { parse(tmp, cfg); },
               {"config.json", "unsupported architecture 'MistralForCausalLM'", "LlamaForCausalLM",
                "InternLM2ForCausalLM", "Qwen2ForCausalLM"},
               LMRT_STATUS_UNSUPPORTED);
}

TEST(HfConfig, MissingConfigFile) {
  TempDir tmp;
  expect_error([&] { lmrt::read_hf_config(tmp.path()); }, {"no config.json"}, LMRT_STATUS_NOT_FOUND);
}

}  // namespace
