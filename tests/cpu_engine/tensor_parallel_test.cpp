// engine.tp = N (N simulated ranks) reproduces tp = 1.
//
// What is bit-identical and why: the column-parallel parts (q/k/v with their
// biases, attention per head, gate/up) compute the very same dot products on
// whichever rank holds the head or column. The row-parallel wo and w2 are
// partial sums per rank, added by the all-reduce; the engine accumulates them in
// double (float products are exact in double) and rounds once to fp32, for every
// tp including 1. Splitting the sum changes only the low bits of the double, so
// the fp32 result differs from tp = 1 only when those bits straddle an fp32
// rounding boundary (about 2^-29 per element). On these models every logit, and
// so every token and logprob, is bit-identical; the tolerance check below is the
// guarantee that holds in general (tp = N vs tp = 1: |delta logprob| <= 1e-5).
#include <algorithm>
#include <cmath>
#include <string>

#include "test_util.hpp"

namespace cpu_test {
namespace {

struct Seq {
  std::vector<int32_t> tokens;  // prompt, then what was generated
  size_t prompt_len;
  uint32_t chunk;
  std::vector<int32_t> blocks;
  lmrt_sampling_params params = greedy_params();
  size_t done = 0;
  std::vector<lmrt_token_logprobs> outputs;
};

constexpr uint32_t kDecodeSteps = 8;

// Three sequences in one batch per step: prefill chunks of different sizes
// alongside decodes, then decode until each has kDecodeSteps + 1 greedy tokens.
std::vector<Seq> run(const RandomModel& model, uint32_t tp, Result* failure) {
  const ModelSpec& spec = model.spec();
  std::vector<Seq> seqs(3);
  const auto tables = shuffled_block_tables(3, 8, 11);  // 32 positions per sequence, blocks of 4
  for (size_t i = 0; i < seqs.size(); ++i) {
    seqs[i].prompt_len = 5 + 6 * i;
    seqs[i].tokens = random_tokens(seqs[i].prompt_len, spec.vocab_size, 70 + i);
    seqs[i].chunk = static_cast<uint32_t>(2 + 3 * i);
    seqs[i].blocks = tables[i];
  }
  auto engine = Engine::create(const_cast<RandomModel&>(model).desc(),
                               "num_threads: 2\ntp: " + std::to_string(tp) + "\n", failure);
  if (!engine) return {};
  if (*failure = engine->allocate(24, 4); !failure->ok()) return {};
  for (;;) {
    std::vector<lmrt_step_seq> batch;
    std::vector<size_t> index;
    for (size_t i = 0; i < seqs.size(); ++i) {
      Seq& s = seqs[i];
      if (s.outputs.size() == kDecodeSteps + 1) continue;
      const uint32_t count = static_cast<uint32_t>(std::min<size_t>(s.chunk, s.tokens.size() - s.done));
      const bool samples = s.done + count == s.tokens.size();
      batch.push_back(make_seq(i, &s.tokens[s.done], count, static_cast<uint32_t>(s.done), s.blocks,
                               samples ? &s.params : nullptr));
      index.push_back(i);
    }
    if (batch.empty()) return seqs;
    std::vector<lmrt_token_logprobs> out;
    if (*failure = engine->step(batch, &out); !failure->ok()) return {};
    for (size_t k = 0; k < batch.size(); ++k) {
      Seq& s = seqs[index[k]];
      s.done += batch[k].num_tokens;
      if (batch[k].sampling) {
        s.outputs.push_back(out[k]);
        s.tokens.push_back(out[k].token);
      }
    }
  }
}

struct TpCase {
  std::string name;
  ModelSpec spec;
  uint32_t tp;
};

ModelSpec shape(uint32_t heads, uint32_t kv_heads, bool bias = false) {
  ModelSpec s;
  s.num_heads = heads;
  s.num_kv_heads = kv_heads;
  s.qkv_bias = bias;
  s.intermediate_size = 48;  // divisible by 8 ranks; the per-rank 24, 12 and 6 exercise the dot-product tail
  s.hidden_size = 36;        // not a multiple of 8 either
  s.num_layers = 3;
  s.seed = 5;
  return s;
}

void PrintTo(const TpCase& c, std::ostream* os) { *os << c.name; }

class TensorParallel : public ::testing::TestWithParam<TpCase> {};

TEST_P(TensorParallel, GreedyTokensAndLogprobsMatchTp1) {
  SKIP_WITHOUT_PLUGIN();
  const TpCase& c = GetParam();
  RandomModel model(c.spec);
  Result r;
  const std::vector<Seq> one = run(model, 1, &r);
  ASSERT_TRUE(r.ok()) << r.message;
  const std::vector<Seq> many = run(model, c.tp, &r);
  ASSERT_TRUE(r.ok()) << r.message;
  double max_diff = 0;
  size_t differing_bits = 0;
  for (size_t i = 0; i < one.size(); ++i) {
    ASSERT_EQ(many[i].outputs.size(), one[i].outputs.size());
    for (size_t k = 0; k < one[i].outputs.size(); ++k) {
      const lmrt_token_logprobs &a = one[i].outputs[k], &b = many[i].outputs[k];
      ASSERT_EQ(b.token, a.token) << "sequence " << i << ", token " << k;
      const std::vector<double> pa = distribution(a, c.spec.vocab_size), pb = distribution(b, c.spec.vocab_size);
      for (uint32_t v = 0; v < c.spec.vocab_size; ++v) {
        ASSERT_FALSE(std::isnan(pa[v]) || std::isnan(pb[v])) << "every token's logprob is reported";
        max_diff = std::max(max_diff, std::abs(pa[v] - pb[v]));
      }
      differing_bits += !same_bits(a, b);
    }
  }
  RecordProperty("max_logprob_diff", std::to_string(max_diff));
  EXPECT_LE(max_diff, 1e-5) << "tp " << c.tp << " vs tp 1";
  EXPECT_EQ(differing_bits, 0u) << "outputs not bit-identical to tp 1 (max logprob diff " << max_diff << ")";
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, TensorParallel,
    ::testing::Values(TpCase{"llama_tp2_kv_split", shape(8, 4), 2}, TpCase{"llama_tp4_kv_split", shape(8, 4), 4},
                      TpCase{"llama_tp4_kv_replicated", shape(8, 2), 4},
                      TpCase{"llama_tp8_kv_replicated", shape(8, 2), 8}, TpCase{"mqa_tp2", shape(4, 1), 2},
                      TpCase{"qwen2_bias_tp2", shape(8, 4, true), 2}, TpCase{"qwen2_bias_tp4", shape(8, 4, true), 4},
                      TpCase{"qwen2_bias_tp4_kv_replicated", shape(8, 2, true), 4}),
    [](const ::testing::TestParamInfo<TpCase>& info) { return info.param.name; });

TEST(TensorParallelConfig, ShapesThePlanCannotSplitAreConfigErrors) {
  SKIP_WITHOUT_PLUGIN();
  RandomModel model(shape(8, 2));
  for (const auto& [yaml, want] : std::vector<std::pair<std::string, std::string>>{
           {"tp: 3", "engine.tp: tp 3 does not divide num_heads 8"},
           {"tp: 16", "engine.tp: tp 16 does not divide num_heads 8"},
           {"tp: 0", "engine.tp must be an integer in [1, 64], got '0'"},
           {"tp: 65", "engine.tp must be an integer in [1, 64]"},
           {"tp: two", "engine.tp must be an integer in [1, 64], got 'two'"}}) {
    Result r;
    EXPECT_FALSE(Engine::create(model.desc(), yaml, &r)) << yaml;
    EXPECT_EQ(r.code, LMRT_STATUS_CONFIG_ERROR) << yaml;
    EXPECT_NE(r.message.find(want), std::string::npos) << yaml << ": " << r.message;
  }
}

TEST(TensorParallelConfig, CapacityCountsOneRanksKvHeads) {
  SKIP_WITHOUT_PLUGIN();
  for (const auto& [heads, kv_heads, tp, kv_per_rank] :
       std::vector<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>>{{8, 4, 2, 2}, {8, 4, 4, 1}, {8, 2, 4, 1}}) {
    const ModelSpec spec = shape(heads, kv_heads);
    RandomModel model(spec);
    Result r;
    auto engine = Engine::create(model.desc(), "num_threads: 2\ntp: " + std::to_string(tp), &r);
    ASSERT_TRUE(engine) << r.message;
    lmrt_capacity cap{};
    ASSERT_TRUE(engine->capacity(capacity_query(16, 0.5f), &cap).ok());
    EXPECT_EQ(cap.block_bytes, 2ull * spec.num_layers * kv_per_rank * spec.head_dim * 16 * 4) << "tp " << tp;
    EXPECT_NE(std::string(cap.device).find("tp " + std::to_string(tp) + " simulated ranks"), std::string::npos)
        << cap.device;
    EXPECT_GT(cap.num_blocks, 0u);
    ASSERT_TRUE(engine->allocate(cap.num_blocks, 16).ok());
  }
}

}  // namespace
}  // namespace cpu_test
