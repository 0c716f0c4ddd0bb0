// The engine's logits agree with an independent double-precision forward.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include "reference_forward.hpp"
#include "test_util.hpp"

namespace cpu_test {
namespace {

struct Case {
  std::string name;
  ModelSpec spec;
};

ModelSpec with(std::function<void(ModelSpec&)> edit) {
  ModelSpec s;
  edit(s);
  return s;
}

std::vector<Case> cases() {
  return {
      {"llama_gqa", with([](ModelSpec&) {})},
      {"mha", with([](ModelSpec& s) { s.num_kv_heads = 4; })},
      {"mqa", with([](ModelSpec& s) { s.num_kv_heads = 1; })},
      {"qkv_bias", with([](ModelSpec& s) { s.qkv_bias = true; })},
      {"linear_rope_scaling", with([](ModelSpec& s) {
         s.rope_scaling_type = LMRT_ROPE_SCALING_LINEAR;
         s.rope_scaling_factor = 2.5f;
         s.rope_theta = 500.f;  // small theta: positions matter more
       })},
      {"odd_sizes", with([](ModelSpec& s) {
         s.vocab_size = 19;
         s.hidden_size = 30;
         s.intermediate_size = 37;
         s.num_heads = 3;
         s.num_kv_heads = 1;
         s.head_dim = 10;
       })},
      {"head_dim_not_hidden_over_heads", with([](ModelSpec& s) {
         s.hidden_size = 48;
         s.head_dim = 16;
       })},
      {"tied_embeddings", with([](ModelSpec& s) { s.tied_embeddings = true; })},
      {"f16_weights", with([](ModelSpec& s) { s.weight_dtype = LMRT_DTYPE_F16; })},
      {"bf16_weights", with([](ModelSpec& s) { s.weight_dtype = LMRT_DTYPE_BF16; })},
      {"three_layers_large_theta", with([](ModelSpec& s) {
         s.num_layers = 3;
         s.rope_theta = 1e6f;
         s.seed = 7;
       })},
  };
}

void expect_close(const std::vector<double>& engine, const std::vector<double>& ref, const std::string& what) {
  ASSERT_EQ(engine.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i)
    EXPECT_NEAR(engine[i], ref[i], 1e-4 * std::max(1.0, std::fabs(ref[i]))) << what << ", token " << i;
}

class ReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceTest, PrefillAndDecodeMatchTheDoublePrecisionReference) {
  SKIP_WITHOUT_PLUGIN();
  RandomModel model(GetParam().spec);
  const uint32_t V = model.spec().vocab_size;
  Result r;
  auto engine = Engine::create(model.desc(), "num_threads: 2\n", &r);
  ASSERT_TRUE(engine) << r.message;
  const uint32_t B = 4;
  ASSERT_TRUE(engine->allocate(32, B).ok());

  const std::vector<int32_t> prompt = random_tokens(13, V, 42);
  const auto ref = reference_logits(model, prompt);
  const lmrt_sampling_params greedy = greedy_params();

  // One full prefill: the last position.
  std::vector<lmrt_token_logprobs> out;
  const std::vector<int32_t> blocks_a = {5, 2, 9, 0};
  ASSERT_TRUE(engine->step({make_seq(1, prompt.data(), 13, 0, blocks_a, &greedy)}, &out).ok());
  ASSERT_EQ(out[0].num_top, V);
  expect_close(distribution(out[0], V), log_softmax(ref.back()), "full prefill, last position");

  // Token by token: every position.
  const std::vector<int32_t> blocks_b = {31, 17, 12, 20};
  for (uint32_t p = 0; p < prompt.size(); ++p) {
    ASSERT_TRUE(engine->step({make_seq(2, &prompt[p], 1, p, blocks_b, &greedy)}, &out).ok());
    expect_close(distribution(out[0], V), log_softmax(ref[p]), "decode, position " + std::to_string(p));
    // Greedy picks the reference's argmax (ties to the lowest id).
    EXPECT_EQ(out[0].token, std::max_element(ref[p].begin(), ref[p].end()) - ref[p].begin()) << "position " << p;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ReferenceTest, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// Dynamic NTK: one full forward of length L uses the base HF computes from L.
TEST(ReferenceDynamicNtk, FullPrefillUsesTheBaseOfTheTotalLength) {
  SKIP_WITHOUT_PLUGIN();
  ModelSpec spec;
  spec.rope_scaling_type = LMRT_ROPE_SCALING_DYNAMIC;
  spec.rope_scaling_factor = 2.f;
  spec.original_max_position_embeddings = 8;
  spec.rope_theta = 100.f;
  RandomModel model(spec);
  Result r;
  auto engine = Engine::create(model.desc(), "", &r);
  ASSERT_TRUE(engine) << r.message;
  ASSERT_TRUE(engine->allocate(32, 4).ok());
  const lmrt_sampling_params greedy = greedy_params();
  uint64_t id = 1;
  for (uint32_t length : {5u, 8u, 9u, 13u, 20u}) {
    const std::vector<int32_t> prompt = random_tokens(length, spec.vocab_size, length);
    std::vector<lmrt_token_logprobs> out;
    ASSERT_TRUE(engine->step({make_seq(id++, prompt.data(), length, 0, {0, 1, 2, 3, 4}, &greedy)}, &out).ok());
    expect_close(distribution(out[0], spec.vocab_size), log_softmax(reference_logits(model, prompt).back()),
                 "dynamic NTK, length " + std::to_string(length));
  }
  // The scaling must matter at length 20, or the test above proves nothing.
  ModelSpec plain = spec;
  plain.rope_scaling_type = LMRT_ROPE_SCALING_NONE;
  RandomModel unscaled(plain);
  const std::vector<int32_t> prompt = random_tokens(20, spec.vocab_size, 20);
  const auto a = log_softmax(reference_logits(model, prompt).back());
  const auto b = log_softmax(reference_logits(unscaled, prompt).back());
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::fabs(a[i] - b[i]));
  EXPECT_GT(diff, 1e-3);
}

}  // namespace
}  // namespace cpu_test
