// The cpu engine against Hugging Face transformers on the same weights: tiny
// random Llama, Qwen2 and InternLM2 models (tests/fixtures/models, made by
// scripts/fixtures/make_model_fixtures.py on the GPU machine).
//
// Logits never cross the engine ABI, so the comparison is on log-probabilities:
// the engine reports the 20 most likely tokens with their log-softmax, which must
// equal transformers' log_softmax(logits) for those tokens within 1e-4 relative.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>

#include "lmrt/core/engine_handle.hpp"
#include "lmrt/core/model_loader.hpp"
#include "lmrt/core/plugin_registry.hpp"

namespace fs = std::filesystem;
using namespace lmrt;

namespace {

const fs::path kFixtures = fs::path(LMRT_SOURCE_DIR) / "tests" / "fixtures" / "models";
constexpr uint32_t kBlock = 16;

struct Reference {
  std::vector<int32_t> input_ids;
  std::vector<std::vector<double>> logits;  // [position][vocab]
  std::vector<int32_t> generated_ids;
};

Reference read_reference(const fs::path& dir) {
  std::ifstream in(dir / "logits.json");
  auto j = nlohmann::json::parse(in);
  return {j["input_ids"].get<std::vector<int32_t>>(), j["logits"].get<std::vector<std::vector<double>>>(),
          j["generated_ids"].get<std::vector<int32_t>>()};
}

std::vector<double> log_softmax(const std::vector<double>& logits) {
  double m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double x : logits) sum += std::exp(x - m);
  double lse = m + std::log(sum);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - lse;
  return out;
}

// One engine over one model, with a block table large enough for the test.
class Engine {
 public:
  explicit Engine(const fs::path& dir)
      : registry_({LMRT_PLUGIN_BUILD_DIR}, false), model_(load_model(dir)) {
    const LoadedPlugin& cpu = registry_.find("cpu", LMRT_PLUGIN_ENGINE);
    engine_ = std::make_unique<EngineHandle>(cpu, registry_.host_api(), "num_threads: 2\n", model_.desc());
    lmrt_capacity_query q{sizeof(q), kBlock, 0.01f, 1, 256, 256};
    auto cap = engine_->capacity(q);
    EXPECT_GE(cap.num_blocks, 8u);
    engine_->allocate_cache(8, kBlock);
  }

  // Computes `tokens` at positions [start, start + n) and returns the top-20 at the last one.
  lmrt_token_logprobs step(const std::vector<int32_t>& tokens, uint32_t start) {
    std::vector<int32_t> table{0, 1, 2, 3, 4, 5, 6, 7};
    lmrt_sampling_params sp{};
    sp.struct_size = sizeof(sp);
    sp.temperature = 0;
    sp.top_p = 1;
    sp.repetition_penalty = 1;
    sp.top_logprobs = LMRT_MAX_TOP_LOGPROBS;
    lmrt_step_seq s{};
    s.struct_size = sizeof(s);
    s.seq_id = 1;
    s.tokens = tokens.data();
    s.num_tokens = static_cast<uint32_t>(tokens.size());
    s.start_pos = start;
    s.block_table = table.data();
    s.num_blocks = static_cast<uint32_t>(table.size());
    s.sampling = &sp;
    lmrt_step_batch b{sizeof(b), 1, &s};
    lmrt_token_logprobs out{};
    out.struct_size = sizeof(out);
    lmrt_status* st = engine_->step(b, &out);
    EXPECT_EQ(st, nullptr);
    return out;
  }

  uint32_t vocab() const { return model_.desc().vocab_size; }

 private:
  PluginRegistry registry_;
  LoadedModel model_;
  std::unique_ptr<EngineHandle> engine_;
};

void expect_top20_match(const lmrt_token_logprobs& got, const std::vector<double>& ref_logits, size_t position) {
  std::vector<double> ref = log_softmax(ref_logits);
  ASSERT_EQ(got.num_top, uint32_t(LMRT_MAX_TOP_LOGPROBS));
  for (uint32_t k = 0; k < got.num_top; ++k) {
    int32_t tok = got.top_tokens[k];
    ASSERT_GE(tok, 0);
    ASSERT_LT(size_t(tok), ref.size());
    double want = ref[tok];
    EXPECT_NEAR(got.top_logprobs[k], want, 1e-4 * std::max(1.0, std::fabs(want)))
        << "position " << position << ", rank " << k << ", token " << tok;
  }
  // The engine's top-20 are transformers' top-20 (up to ties at the boundary).
  std::vector<int32_t> order(ref.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return ref[a] > ref[b]; });
  double cutoff = ref[order[LMRT_MAX_TOP_LOGPROBS - 1]];
  for (uint32_t k = 0; k < got.num_top; ++k) EXPECT_GE(ref[got.top_tokens[k]], cutoff - 1e-5) << position;
  // Greedy: the sampled token is the argmax.
  EXPECT_NEAR(ref[got.token], ref[order[0]], 1e-5) << position;
}

class TransformersReference : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(TransformersReference, PrefillLogprobsAndGreedyTokensMatch) {
  fs::path dir = kFixtures / GetParam();
  if (!fs::exists(dir / "logits.json")) GTEST_SKIP() << dir << " is absent";
  Reference ref = read_reference(dir);
  const size_t n = ref.input_ids.size();
  const bool dynamic_rope = GetParam().find("dynamic") != std::string::npos;
  // Every prefix as its own prefill: position p sees what transformers' causal forward saw.
  // Dynamic NTK scales RoPE by the sequence length, so there only the full length compares.
  for (size_t len = dynamic_rope ? n : 1; len <= n; ++len) {
    Engine e(dir);
    std::vector<int32_t> prefix(ref.input_ids.begin(), ref.input_ids.begin() + len);
    expect_top20_match(e.step(prefix, 0), ref.logits[len - 1], len - 1);
  }
  // 32 greedy steps with the KV cache, as transformers generated them.
  Engine e(dir);
  std::vector<int32_t> generated;
  lmrt_token_logprobs out = e.step(ref.input_ids, 0);
  generated.push_back(out.token);
  for (size_t i = 1; i < ref.generated_ids.size(); ++i) {
    out = e.step({generated.back()}, static_cast<uint32_t>(n + i - 1));
    generated.push_back(out.token);
  }
  EXPECT_EQ(generated, ref.generated_ids);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TransformersReference,
                         ::testing::Values("tiny-llama", "tiny-qwen2", "tiny-internlm2", "tiny-llama-rope-linear",
                                           "tiny-llama-rope-dynamic"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });
