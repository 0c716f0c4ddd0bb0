// The lmrt-make-tiny-model command line.
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <fstream>

#include "lmrt/core/model_loader.hpp"
#include "model_test_util.hpp"

namespace {

const std::string kTool = std::string(LMRT_BINARY_DIR) + "/bin/lmrt-make-tiny-model";

int run(const std::string& args) { return std::system((kTool + " " + args + " > /dev/null 2>&1").c_str()); }

TEST(MakeTinyModelTool, WritesALoadableModel) {
  lmrt::test::TempDir tmp;
  ASSERT_EQ(run((tmp / "m").string() +
                " --arch internlm2 --dtype bf16 --hidden 32 --layers 3 --heads 4 --kv-heads 1 --intermediate 48"
                " --vocab 100 --tie --shards 2 --seed 7 --rope-scaling dynamic --rope-factor 2"),
            0);
  const auto m = lmrt::load_model(tmp / "m");
  const auto& d = m.desc();
  EXPECT_STREQ(d.architecture, "internlm2");
  EXPECT_EQ(d.hidden_size, 32u);
  EXPECT_EQ(d.num_layers, 3u);
  EXPECT_EQ(d.num_heads, 4u);
  EXPECT_EQ(d.num_kv_heads, 1u);
  EXPECT_EQ(d.intermediate_size, 48u);
  EXPECT_EQ(d.vocab_size, 100u);
  EXPECT_EQ(d.tie_word_embeddings, 1u);
  EXPECT_EQ(d.weight_dtype, LMRT_DTYPE_BF16);
  EXPECT_EQ(d.rope_scaling_type, LMRT_ROPE_SCALING_DYNAMIC);
  EXPECT_TRUE(std::filesystem::exists(tmp / "m" / "model-00002-of-00002.safetensors"));
  EXPECT_EQ(m.eos_token_ids(), (std::vector<int32_t>{2}));
}

TEST(MakeTinyModelTool, CopiesTheTokenizer) {
  const auto tok = lmrt::test::testdata("models/stories260k");
  if (!std::filesystem::exists(tok / "tokenizer.model")) GTEST_SKIP() << tok << " is absent";
  lmrt::test::TempDir tmp;
  ASSERT_EQ(run((tmp / "m").string() + " --vocab 512 --tokenizer " + tok.string()), 0);
  EXPECT_EQ(lmrt::test::read_bytes(tmp / "m" / "tokenizer.model"), lmrt::test::read_bytes(tok / "tokenizer.model"));
  EXPECT_TRUE(std::filesystem::exists(tmp / "m" / "tokenizer_config.json"));
  // The model's own files are not overwritten by the tokenizer folder's.
  std::ifstream in(tmp / "m" / "config.json");
  EXPECT_EQ(nlohmann::json::parse(in)["hidden_size"], 64);
  EXPECT_EQ(lmrt::load_model(tmp / "m").desc().vocab_size, 512u);
}

TEST(MakeTinyModelTool, BadArgumentsFail) {
  lmrt::test::TempDir tmp;
  EXPECT_NE(run((tmp / "a").string() + " --arch gpt2"), 0);
  EXPECT_NE(run((tmp / "b").string() + " --heads 4 --kv-heads 3"), 0);
  EXPECT_NE(run((tmp / "c").string() + " --dtype f8"), 0);
  EXPECT_NE(run((tmp / "d").string() + " --rope-scaling yarn"), 0);
  EXPECT_FALSE(std::filesystem::exists(tmp / "a" / "config.json"));
}

}  // namespace
