// The transformers reference fixtures (tests/fixtures/models/*, written by
// scripts/fixtures/make_model_fixtures.py on a machine with torch): when present,
// each loads and its logits.json agrees with its config. The cpu engine's tests
// compare its logits with these.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lmrt/core/model_loader.hpp"
#include "model_test_util.hpp"

namespace {

const std::filesystem::path kFixtures = std::filesystem::path(LMRT_SOURCE_DIR) / "tests/fixtures/models";

class ReferenceFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(ReferenceFixture, LoadsAndMatchesItsLogitsFile) {
  const auto dir = kFixtures / GetParam();
  if (!std::filesystem::exists(dir / "config.json"))
    GTEST_SKIP() << dir << " is absent: run scripts/fixtures/make_model_fixtures.py (needs torch + transformers)";
  const lmrt::LoadedModel m = lmrt::load_model(dir);
  const auto& d = m.desc();
  EXPECT_EQ(d.hidden_size, 64u);
  EXPECT_EQ(d.num_layers, 2u);
  EXPECT_EQ(d.num_heads, 4u);
  EXPECT_EQ(d.num_kv_heads, 2u);
  EXPECT_EQ(d.intermediate_size, 128u);
  EXPECT_EQ(d.vocab_size, 256u);
  EXPECT_EQ(d.has_qkv_bias, std::string(GetParam()) == "tiny-qwen2" ? 1u : 0u);

  std::ifstream in(dir / "logits.json");
  ASSERT_TRUE(in) << dir / "logits.json";
  const auto ref = nlohmann::json::parse(in);
  const auto& ids = ref.at("input_ids");
  const auto& logits = ref.at("logits");
  ASSERT_GT(ids.size(), 0u);
  ASSERT_EQ(logits.size(), ids.size());
  for (const auto& row : logits) ASSERT_EQ(row.size(), d.vocab_size);
  for (const auto& id : ids) EXPECT_LT(id.get<int64_t>(), d.vocab_size);
  const auto& generated = ref.at("generated_ids");
  EXPECT_EQ(generated.size(), 32u);
  for (const auto& id : generated) EXPECT_LT(id.get<int64_t>(), d.vocab_size);
  if (std::string(GetParam()) == "tiny-llama-rope-dynamic") {
    EXPECT_EQ(d.rope_scaling_type, LMRT_ROPE_SCALING_DYNAMIC);
    EXPECT_GT(ids.size(), d.original_max_position_embeddings);  // the scaling is exercised
  }
  if (std::string(GetParam()) == "tiny-llama-rope-linear") EXPECT_EQ(d.rope_scaling_type, LMRT_ROPE_SCALING_LINEAR);
}

TEST(ReferenceFixtures, InternLM2CopyMatchesLlama) {
  if (!std::filesystem::exists(kFixtures / "tiny-internlm2/config.json") ||
      !std::filesystem::exists(kFixtures / "tiny-llama/config.json"))
    GTEST_SKIP() << "fixtures absent: run scripts/fixtures/make_model_fixtures.py";
  const auto a = lmrt::load_model(kFixtures / "tiny-llama");
  const auto b = lmrt::load_model(kFixtures / "tiny-internlm2");
  ASSERT_EQ(a.desc().num_tensors, b.desc().num_tensors);
  for (uint32_t i = 0; i < a.desc().num_tensors; ++i) {
    const auto& t = a.desc().tensors[i];
    const auto& u = lmrt::require_tensor(b.desc(), t.name);
    ASSERT_EQ(t.nbytes, u.nbytes) << t.name;
    EXPECT_EQ(std::memcmp(t.data, u.data, t.nbytes), 0) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, ReferenceFixture,
                         ::testing::Values("tiny-llama", "tiny-qwen2", "tiny-internlm2", "tiny-llama-rope-linear",
                                           "tiny-llama-rope-dynamic"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& c : s)
                             if (c == '-') c = '_';
                           return s;
                         });

}  // namespace
