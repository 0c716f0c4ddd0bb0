// A real trained model (../shared/testdata/models/stories260k) reproduces its
// published greedy continuation (testdata/gold/stories260k.md).
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "safetensors_file.hpp"
#include "test_util.hpp"

namespace cpu_test {
namespace {

// Hugging Face Llama names -> canonical names (model.h).
std::string canonical_name(const std::string& hf) {
  static const std::pair<std::regex, std::string> rules[] = {
      {std::regex(R"(model\.embed_tokens\.weight)"), "tok_embeddings"},
      {std::regex(R"(model\.norm\.weight)"), "norm"},
      {std::regex(R"(lm_head\.weight)"), "output"},
      {std::regex(R"(model\.layers\.(\d+)\.input_layernorm\.weight)"), "layers.$1.attention_norm"},
      {std::regex(R"(model\.layers\.(\d+)\.post_attention_layernorm\.weight)"), "layers.$1.ffn_norm"},
      {std::regex(R"(model\.layers\.(\d+)\.self_attn\.q_proj\.weight)"), "layers.$1.attention.wq"},
      {std::regex(R"(model\.layers\.(\d+)\.self_attn\.k_proj\.weight)"), "layers.$1.attention.wk"},
      {std::regex(R"(model\.layers\.(\d+)\.self_attn\.v_proj\.weight)"), "layers.$1.attention.wv"},
      {std::regex(R"(model\.layers\.(\d+)\.self_attn\.o_proj\.weight)"), "layers.$1.attention.wo"},
      {std::regex(R"(model\.layers\.(\d+)\.mlp\.gate_proj\.weight)"), "layers.$1.feed_forward.w1"},
      {std::regex(R"(model\.layers\.(\d+)\.mlp\.up_proj\.weight)"), "layers.$1.feed_forward.w3"},
      {std::regex(R"(model\.layers\.(\d+)\.mlp\.down_proj\.weight)"), "layers.$1.feed_forward.w2"},
  };
  for (const auto& [re, out] : rules)
    if (std::regex_match(hf, re)) return std::regex_replace(hf, re, out);
  return "";
}

TEST(Stories260k, GreedyDecodeReproducesTheGoldContinuation) {
  SKIP_WITHOUT_PLUGIN();
  const std::filesystem::path dir = std::filesystem::path(LMRT_TESTDATA_DIR) / "models" / "stories260k";
  if (!std::filesystem::exists(dir / "model.safetensors"))
    GTEST_SKIP() << "test data absent: " << dir << " (see ../shared/testdata/README.md)";
  const auto config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  SafetensorsFile file((dir / "model.safetensors").string());

  std::vector<std::string> names;
  std::vector<lmrt_tensor_view> views;
  names.reserve(file.tensors().size());
  for (const auto& [hf, t] : file.tensors()) {
    const std::string name = canonical_name(hf);
    if (name.empty()) continue;
    ASSERT_EQ(t.dtype, "F32") << hf;
    names.push_back(name);
    lmrt_tensor_view v{};
    v.struct_size = sizeof v;
    v.dtype = LMRT_DTYPE_F32;
    v.ndim = static_cast<uint32_t>(t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i) v.shape[i] = t.shape[i];
    v.data = file.data() + t.begin;
    v.nbytes = t.end - t.begin;
    views.push_back(v);
  }
  for (size_t i = 0; i < views.size(); ++i) views[i].name = names[i].c_str();

  lmrt_model_desc desc{};
  desc.struct_size = sizeof desc;
  desc.architecture = "llama";
  desc.format = "hf";
  desc.vocab_size = config.at("vocab_size");
  desc.hidden_size = config.at("hidden_size");
  desc.intermediate_size = config.at("intermediate_size");
  desc.num_layers = config.at("num_hidden_layers");
  desc.num_heads = config.at("num_attention_heads");
  desc.num_kv_heads = config.at("num_key_value_heads");
  desc.head_dim = desc.hidden_size / desc.num_heads;
  desc.rms_norm_eps = config.at("rms_norm_eps");
  desc.rope_theta = config.at("rope_theta");
  desc.rope_scaling_factor = 1.f;
  desc.original_max_position_embeddings = config.at("max_position_embeddings");
  desc.weight_dtype = LMRT_DTYPE_F32;
  desc.num_tensors = static_cast<uint32_t>(views.size());
  desc.tensors = views.data();

  Result r;
  auto engine = Engine::create(desc, "num_threads: 2", &r);
  ASSERT_TRUE(engine) << r.message;
  ASSERT_TRUE(engine->allocate(4, 16).ok());
  const std::vector<int32_t> blocks = {2, 0, 3, 1};

  // From gold/stories260k.md: "Once upon a time" with BOS, and the first 12 greedy ids.
  std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
  const std::vector<int32_t> gold = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338};
  const lmrt_sampling_params greedy = greedy_params(0);
  std::vector<lmrt_token_logprobs> out;
  ASSERT_TRUE(engine->step({make_seq(1, tokens.data(), 5, 0, blocks, &greedy)}, &out).ok());
  std::vector<int32_t> generated = {out[0].token};
  while (generated.size() < gold.size()) {
    tokens.push_back(generated.back());
    const uint32_t pos = static_cast<uint32_t>(tokens.size() - 1);
    const Result sr = engine->step({make_seq(1, &tokens[pos], 1, pos, blocks, &greedy)}, &out);
    ASSERT_TRUE(sr.ok()) << sr.message;
    generated.push_back(out[0].token);
  }
  EXPECT_EQ(generated, gold);
}

}  // namespace
}  // namespace cpu_test
