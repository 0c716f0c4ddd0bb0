// The runtime and its scheduler on the cpu engine: batch invariance, chunked
// prefill, prefix caching, preemption under a small KV pool, cancellation,
// limits, stop rules and interactive sessions.
#include "lmrt/core/runtime.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "lmrt/core/safetensors_writer.hpp"
#include "lmrt/core/tokenizer.hpp"
#include "log_capture.hpp"

namespace fs = std::filesystem;
using namespace lmrt;

namespace {

const fs::path kTestdata = LMRT_TESTDATA_DIR;

// The model and the calibration text that mixed_prompts() cuts prompts from.
#define REQUIRE_TESTDATA()                                                                                        \
  if (!fs::exists(kTestdata / "models" / "stories260k") || !fs::exists(kTestdata / "calib" / "tinyshakespeare.txt")) \
  GTEST_SKIP() << "../shared/testdata (models/stories260k, calib/tinyshakespeare.txt) is absent"

struct Outcome {
  std::string text;
  std::vector<int32_t> tokens;
  lmrt_finish_reason finish = LMRT_FINISH_NONE;
  std::string message;
  uint32_t cached_tokens = 0, input_tokens = 0;
  bool done = false;
};

// Collects the events of many requests and waits for all of them.
class Collector {
 public:
  EventCallback callback(size_t index) {
    {
      std::lock_guard lock(mu_);
      if (outcomes_.size() <= index) outcomes_.resize(index + 1);
      ++pending_;
    }
    return [this, index](const RuntimeEvent& e) {
      std::lock_guard lock(mu_);
      Outcome& o = outcomes_[index];
      o.text += e.text;
      o.tokens.insert(o.tokens.end(), e.tokens.begin(), e.tokens.end());
      o.cached_tokens = e.cached_tokens;
      o.input_tokens = e.input_tokens;
      if (e.kind == LMRT_EVENT_FINISHED) {
        o.finish = e.finish_reason;
        o.message = e.error_message;
        o.done = true;
        --pending_;
        cv_.notify_all();
      }
    };
  }
  std::vector<Outcome> wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return pending_ == 0; });
    return outcomes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Outcome> outcomes_;
  size_t pending_ = 0;
};

Deployment deployment(const std::string& extra_engine_yaml = "", const std::string& model = "stories260k") {
  std::string yaml = "model:\n  path: " + (kTestdata / "models" / model).string() +
                     "\nengine:\n  backend: cpu\n" +
                     (extra_engine_yaml.find("session_len") == std::string::npos ? "  session_len: 4096\n" : "") +
                     extra_engine_yaml + "log_level: error\n";
  return Deployment::parse(yaml, "test", "");
}

GenerationParams greedy(uint32_t max_new) {
  GenerationParams g;
  g.temperature = 0;
  g.max_new_tokens = max_new;
  return g;
}

RequestInput tokens_input(std::vector<int32_t> tokens) {
  RequestInput in;
  in.kind = LMRT_INPUT_TOKENS;
  in.tokens = std::move(tokens);
  return in;
}

// Prompts of mixed lengths (5..400 tokens) from the calibration text.
std::vector<std::vector<int32_t>> mixed_prompts(Runtime& rt, size_t n, uint32_t seed) {
  std::ifstream in(kTestdata / "calib" / "tinyshakespeare.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::vector<int32_t> all = rt.encode(text.substr(0, 200000), false);
  if (all.size() < 1000) throw std::runtime_error("mixed_prompts: the calibration text is missing or too short");
  std::mt19937 rng(seed);
  std::vector<std::vector<int32_t>> out;
  int32_t bos = rt.tokenizer().bos_id().value_or(1);
  for (size_t i = 0; i < n; ++i) {
    size_t len = 5 + rng() % 396;
    size_t start = rng() % (all.size() - len);
    std::vector<int32_t> p{bos};
    p.insert(p.end(), all.begin() + start, all.begin() + start + len - 1);
    out.push_back(p);
  }
  return out;
}

std::vector<Outcome> run_all(Runtime& rt, const std::vector<std::vector<int32_t>>& prompts, const GenerationParams& g) {
  Collector c;
  for (size_t i = 0; i < prompts.size(); ++i) rt.submit(tokens_input(prompts[i]), g, c.callback(i));
  return c.wait();
}

std::vector<Outcome> run_one_by_one(Runtime& rt, const std::vector<std::vector<int32_t>>& prompts,
                                    const GenerationParams& g) {
  std::vector<Outcome> out;
  for (const auto& p : prompts) out.push_back(run_all(rt, {p}, g)[0]);
  return out;
}

void expect_all_blocks_free(Runtime& rt) {
  // The scheduler publishes its counters after each step; give it a moment.
  for (int i = 0; i < 100; ++i) {
    auto s = rt.stats();
    if (s["kv_blocks_used"] == 0 && s["running"] == 0 && s["waiting"] == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "blocks still in use: " << rt.stats().dump();
}

}  // namespace

TEST(Runtime, BatchInvarianceAcrossChunkSizesAndPrefixCaching) {
  REQUIRE_TESTDATA();
  std::vector<Outcome> reference;
  std::vector<std::vector<int32_t>> prompts;
  {
    Runtime alone(deployment("  max_batch_size: 1\n"));
    prompts = mixed_prompts(alone, 64, 7);
    // Shared prefixes make the prefix cache matter: every 4th prompt repeats another's start.
    for (size_t i = 3; i < prompts.size(); i += 4) {
      std::vector<int32_t> p(prompts[i - 3].begin(), prompts[i - 3].begin() + std::min<size_t>(prompts[i - 3].size(), 150));
      p.insert(p.end(), prompts[i].begin() + 1, prompts[i].end());
      prompts[i] = p;
    }
    reference = run_one_by_one(alone, prompts, greedy(24));
  }
  for (const char* caching : {"false", "true"}) {
    for (int chunk : {16, 64, 8192}) {
      SCOPED_TRACE(std::string("prefix caching ") + caching + ", max_prefill_token_num " + std::to_string(chunk));
      Runtime rt(deployment(std::string("  enable_prefix_caching: ") + caching +
                            "\n  max_prefill_token_num: " + std::to_string(chunk) + "\n"));
      auto got = run_all(rt, prompts, greedy(24));
      ASSERT_EQ(got.size(), reference.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].tokens, reference[i].tokens) << "request " << i;
        EXPECT_EQ(got[i].text, reference[i].text) << "request " << i;
      }
      expect_all_blocks_free(rt);
    }
  }
}

TEST(Runtime, SmallPoolPreemptsAndEveryRequestFinishesUnchanged) {
  REQUIRE_TESTDATA();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<Outcome> reference;
  {
    Runtime alone(deployment("  max_batch_size: 1\n  cache_block_seq_len: 16\n"));
    prompts = mixed_prompts(alone, 24, 11);
    reference = run_one_by_one(alone, prompts, greedy(40));
  }
  // 40 blocks of 16 tokens: room for a few sequences at a time, far less than the load.
  Runtime rt(deployment("  cache_block_seq_len: 16\n  max_kv_blocks: 40\n"));
  auto got = run_all(rt, prompts, greedy(40));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].tokens, reference[i].tokens) << "request " << i;
  auto stats = rt.stats();
  EXPECT_GT(stats["preemptions"].get<uint64_t>(), 0u) << stats.dump();
  EXPECT_EQ(stats["kv_blocks_total"], 40);
  expect_all_blocks_free(rt);
}

TEST(Runtime, CancelFreesBlocksAndLeavesOthersUnchanged) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment());
  auto prompts = mixed_prompts(rt, 4, 3);
  auto reference = run_one_by_one(rt, prompts, greedy(30));
  Collector c;
  GenerationParams endless = greedy(0);  // up to session_len
  endless.ignore_eos = true;
  uint64_t victim = rt.submit(tokens_input(prompts[0]), endless, c.callback(0));
  for (size_t i = 1; i < prompts.size(); ++i) rt.submit(tokens_input(prompts[i]), greedy(30), c.callback(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  rt.cancel(victim);
  auto got = c.wait();
  EXPECT_EQ(got[0].finish, LMRT_FINISH_CANCELLED);
  for (size_t i = 1; i < prompts.size(); ++i) EXPECT_EQ(got[i].tokens, reference[i].tokens) << i;
  expect_all_blocks_free(rt);
}

// A cancel takes effect at the next step boundary: the request ends and its blocks are free within one step.
TEST(Runtime, CancelTakesEffectWithinOneStep) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment());
  auto prompts = mixed_prompts(rt, 1, 5);
  std::mutex mu;
  std::condition_variable cv;
  size_t produced = 0;
  bool finished = false;
  lmrt_finish_reason reason = LMRT_FINISH_NONE;
  GenerationParams endless = greedy(0);
  endless.ignore_eos = true;
  const uint64_t id = rt.submit(tokens_input(prompts[0]), endless, [&](const RuntimeEvent& e) {
    std::lock_guard lock(mu);
    produced += e.tokens.size();
    if (e.kind == LMRT_EVENT_FINISHED) finished = true, reason = e.finish_reason;
    cv.notify_all();
  });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return produced >= 8; }));
  }
  const uint64_t steps_at_cancel = rt.stats()["steps"].get<uint64_t>();
  rt.cancel(id);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return finished; }));
  }
  EXPECT_EQ(reason, LMRT_FINISH_CANCELLED);
  expect_all_blocks_free(rt);
  // The step running when cancel() came may finish and the cancel applies before the next one; one more step may
  // have started between reading the counter and calling cancel().
  EXPECT_LE(rt.stats()["steps"].get<uint64_t>(), steps_at_cancel + 2) << rt.stats().dump();
}

// Per-request timings and counts on the FINISHED event, and the engine counters they add up to.
TEST(Runtime, StatisticsPerRequestAndForTheEngine) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment("  max_batch_size: 1\n"));  // one at a time: the later requests wait in the queue
  auto prompts = mixed_prompts(rt, 3, 13);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<RuntimeEvent> done(prompts.size());
  std::vector<size_t> tokens(prompts.size(), 0);
  size_t pending = prompts.size();
  for (size_t i = 0; i < prompts.size(); ++i)
    rt.submit(tokens_input(prompts[i]), greedy(12), [&, i](const RuntimeEvent& e) {
      std::lock_guard lock(mu);
      tokens[i] += e.tokens.size();
      if (e.kind == LMRT_EVENT_FINISHED) done[i] = e, --pending, cv.notify_all();
    });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return pending == 0; }));
  }
  uint64_t in = 0, out = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const RuntimeEvent& e = done[i];
    EXPECT_EQ(e.input_tokens, prompts[i].size()) << i;
    EXPECT_EQ(e.output_tokens, tokens[i]) << i;
    EXPECT_GE(e.queue_seconds, 0.0) << i;
    EXPECT_GT(e.first_token_seconds, e.queue_seconds) << i;
    EXPECT_GE(e.total_seconds, e.first_token_seconds) << i;
    in += e.input_tokens;
    out += e.output_tokens;
  }
  // The last request waited for the two before it.
  EXPECT_GT(done[2].queue_seconds, done[0].first_token_seconds);
  // The scheduler publishes its counters after the step that finished the last request.
  nlohmann::json s;
  for (int i = 0; i < 200; ++i) {
    s = rt.stats();
    if (s["requests_finished"]["length"].get<uint64_t>() + s["requests_finished"]["stop"].get<uint64_t>() == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(s["prompt_tokens"].get<uint64_t>(), in);
  EXPECT_EQ(s["generated_tokens"].get<uint64_t>(), out);
  EXPECT_EQ(s["requests_finished"]["length"].get<uint64_t>() + s["requests_finished"]["stop"].get<uint64_t>(), 3u);
  EXPECT_GT(s["generation_tokens_per_second"].get<double>(), 0.0);
  EXPECT_GE(s["steps"].get<uint64_t>(), out / 3);
}

TEST(Runtime, SharedPrefixIsComputedOnce) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment("  enable_prefix_caching: true\n"));
  // A 1000-token shared prefix, then different endings.
  auto text = mixed_prompts(rt, 3, 9);
  std::vector<int32_t> shared(text[0].begin(), text[0].end());
  while (shared.size() < 1000) shared.insert(shared.end(), text[1].begin() + 1, text[1].end());
  shared.resize(1000);
  std::vector<int32_t> a = shared, b = shared;
  a.insert(a.end(), {300, 301, 302});
  b.insert(b.end(), text[2].begin() + 1, text[2].begin() + 20);
  auto first = run_all(rt, {a}, greedy(4))[0];
  uint64_t prompt_tokens_before = rt.stats()["prompt_tokens"];
  auto second = run_all(rt, {b}, greedy(4))[0];
  uint64_t computed = rt.stats()["prompt_tokens"].get<uint64_t>() - prompt_tokens_before;
  // Blocks of 64: the first 960 tokens (15 full blocks) come from the cache.
  EXPECT_EQ(second.cached_tokens, 960u);
  EXPECT_EQ(computed, b.size() - 960);
  EXPECT_GT(rt.stats()["prefix_cache_hit_rate"].get<double>(), 0.0);
  // And the cached computation gives what a cold one gives.
  Runtime cold(deployment());
  EXPECT_EQ(run_all(cold, {b}, greedy(4))[0].tokens, second.tokens);
  EXPECT_EQ(first.cached_tokens, 0u);
}

TEST(Runtime, OverlongPromptIsRejectedWithTheLengths) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment("  session_len: 64\n"));
  std::vector<int32_t> prompt(100, 300);
  try {
    rt.submit(tokens_input(prompt), greedy(8), [](const RuntimeEvent&) {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_CAPACITY);
    std::string msg = e.what();
    EXPECT_NE(msg.find("100 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("session_len 64"), std::string::npos) << msg;
  }
  // A prompt that fits but whose output would not: generation ends at session_len, saying so.
  auto out = run_all(rt, {std::vector<int32_t>(60, 300)}, greedy(100))[0];
  EXPECT_EQ(out.finish, LMRT_FINISH_LENGTH);
  EXPECT_EQ(out.tokens.size(), 4u);
  EXPECT_NE(out.message.find("session_len"), std::string::npos) << out.message;
  // The engine keeps serving.
  EXPECT_EQ(run_all(rt, {{1, 403, 407, 261, 378}}, greedy(3))[0].tokens.size(), 3u);
}

// A model folder whose embedding has 8 rows more than its tokenizer has ids (as Qwen2 pads 151646 to 152064),
// built so that greedy decoding picks padded id 515 at every step: every layer's output projections are zero, so
// the final hidden state is the embedding (all ones), and only the LM head's row 515 is non-zero.
fs::path write_padded_vocab_model(const fs::path& dir) {
  constexpr int kVocab = 520, kHidden = 64, kKv = 32, kInter = 64;
  fs::create_directories(dir);
  for (const char* f : {"tokenizer.model", "tokenizer_config.json"})
    fs::copy_file(kTestdata / "models" / "stories260k" / f, dir / f, fs::copy_options::overwrite_existing);
  std::ofstream(dir / "config.json") << R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 64, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 8,
    "num_key_value_heads": 4, "vocab_size": 520, "max_position_embeddings": 512, "rms_norm_eps": 1e-05,
    "rope_theta": 10000.0, "hidden_act": "silu", "bos_token_id": 1, "eos_token_id": 2,
    "tie_word_embeddings": false, "torch_dtype": "float32"})";
  lmrt::SafetensorsWriter w;
  auto add = [&](const std::string& name, int rows, int cols, auto value) {
    std::vector<float> v(size_t(rows) * cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) v[size_t(r) * cols + c] = value(r);
    w.add(name, LMRT_DTYPE_F32, rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols}, v.data(),
          v.size() * sizeof(float));
  };
  auto ones = [](int) { return 1.f; };
  auto zeros = [](int) { return 0.f; };
  add("model.embed_tokens.weight", kVocab, kHidden, ones);
  add("model.layers.0.input_layernorm.weight", 1, kHidden, ones);
  add("model.layers.0.self_attn.q_proj.weight", kHidden, kHidden, zeros);
  add("model.layers.0.self_attn.k_proj.weight", kKv, kHidden, zeros);
  add("model.layers.0.self_attn.v_proj.weight", kKv, kHidden, zeros);
  add("model.layers.0.self_attn.o_proj.weight", kHidden, kHidden, zeros);
  add("model.layers.0.post_attention_layernorm.weight", 1, kHidden, ones);
  add("model.layers.0.mlp.gate_proj.weight", kInter, kHidden, zeros);
  add("model.layers.0.mlp.up_proj.weight", kInter, kHidden, zeros);
  add("model.layers.0.mlp.down_proj.weight", kHidden, kInter, zeros);
  add("model.norm.weight", 1, kHidden, ones);
  add("lm_head.weight", kVocab, kHidden, [](int r) { return r == 515 ? 1.f : 0.f; });
  w.write(dir / "model.safetensors");
  return dir;
}

// A generated id past the tokenizer's vocabulary (a padded embedding row) has no text, as Hugging Face tokenizers
// decode it, and stays in the output ids; it used to throw inside the scheduler, which then stopped the runtime
// and cancelled every request.
TEST(Runtime, PaddedVocabularyIdsStreamNoTextAndTheRuntimeGoesOn) {
  REQUIRE_TESTDATA();
  const fs::path dir = write_padded_vocab_model(fs::temp_directory_path() /
                                                ("lmrt-padded-vocab-" + std::to_string(std::random_device{}())));
  {
    Runtime rt(Deployment::parse("model:\n  path: " + dir.string() +
                                     "\nengine:\n  backend: cpu\n  session_len: 256\nlog_level: error\n",
                                 "test", ""));
    ASSERT_EQ(rt.tokenizer().vocab_size(), 512);
    for (int round = 0; round < 2; ++round) {
      const Outcome out = run_all(rt, {{1, 403, 407}}, greedy(4))[0];
      EXPECT_EQ(out.finish, LMRT_FINISH_LENGTH) << out.message;
      EXPECT_EQ(out.tokens, (std::vector<int32_t>{515, 515, 515, 515}));
      EXPECT_EQ(out.text, "");
    }
  }
  fs::remove_all(dir);
}

TEST(Runtime, StopRules) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment());
  std::vector<int32_t> prompt{1, 403, 407, 261, 378};
  auto full = run_all(rt, {prompt}, greedy(40))[0];
  ASSERT_GE(full.tokens.size(), 20u);
  // A stop word that spans token boundaries ends the text just before it.
  std::string word = "little girl";
  ASSERT_NE(full.text.find(word), std::string::npos) << full.text;
  GenerationParams g = greedy(40);
  g.stop_words = {word};
  auto stopped = run_all(rt, {prompt}, g)[0];
  EXPECT_EQ(stopped.finish, LMRT_FINISH_STOP);
  EXPECT_EQ(stopped.text, full.text.substr(0, full.text.find(word)));
  // A stop token id ends generation without being emitted.
  GenerationParams t = greedy(40);
  t.stop_token_ids = {full.tokens[5]};
  auto by_id = run_all(rt, {prompt}, t)[0];
  EXPECT_EQ(by_id.finish, LMRT_FINISH_STOP);
  EXPECT_EQ(by_id.tokens, std::vector<int32_t>(full.tokens.begin(), full.tokens.begin() + 5));
  // ignore_eos ignores the model's EOS, not the request's own stop ids.
  GenerationParams ie = t;
  ie.ignore_eos = true;
  EXPECT_EQ(run_all(rt, {prompt}, ie)[0].tokens, by_id.tokens);
  // min_new_tokens keeps a stop token from ending generation early.
  t.min_new_tokens = 10;
  auto with_min = run_all(rt, {prompt}, t)[0];
  EXPECT_GE(with_min.tokens.size(), 10u);
  for (size_t i = 0; i < 10 && i < with_min.tokens.size(); ++i) EXPECT_NE(with_min.tokens[i], full.tokens[5]);
  expect_all_blocks_free(rt);
}

TEST(Runtime, InteractiveSessionReusesItsHistory) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment());
  RequestInput first;
  first.kind = LMRT_INPUT_TEXT;
  first.text = "Once upon a time";
  RequestInput second;
  second.kind = LMRT_INPUT_TEXT;
  second.text = " The dog";
  Collector c1;
  rt.submit(first, greedy(70), c1.callback(0), /*session_id=*/42);
  auto a = c1.wait()[0];
  Collector c2;
  rt.submit(second, greedy(8), c2.callback(0), 42, /*end_session=*/true);
  auto b = c2.wait()[0];
  // The second turn's KV for the history is reused: only its own tokens are new.
  EXPECT_GE(b.cached_tokens, 5u + 70u - 1u);
  // And it continues the same sequence a one-shot request over the whole history would.
  std::vector<int32_t> whole = rt.encode("Once upon a time", true);
  whole.insert(whole.end(), a.tokens.begin(), a.tokens.end());
  auto tail = rt.encode(" The dog", false);
  whole.insert(whole.end(), tail.begin(), tail.end());
  EXPECT_EQ(run_all(rt, {whole}, greedy(8))[0].tokens, b.tokens);
  expect_all_blocks_free(rt);
}

TEST(Runtime, RejectsBadGenerationSettings) {
  REQUIRE_TESTDATA();
  Runtime rt(deployment());
  GenerationParams g = greedy(4);
  g.top_p = 0;
  EXPECT_THROW(rt.submit(tokens_input({1, 2}), g, [](const RuntimeEvent&) {}), Error);
  EXPECT_THROW(rt.submit(tokens_input({1, 100000}), greedy(4), [](const RuntimeEvent&) {}), Error);
  RequestInput empty;
  empty.kind = LMRT_INPUT_TEXT;
  EXPECT_THROW(rt.submit(empty, greedy(4), [](const RuntimeEvent&) {}), Error);
}

// The core's LMRT_STEP_NEXT_IS_DECODE hint (lmrt/engine.h), which the test-echo engine checks against each step that
// follows one and counts: a lone request's steps carry it all but the last (its max_new_tokens, or session_len
// here for the fourth request), and every hinted step is followed by the promised one (ignore_eos: no stop token).
TEST(Runtime, NextIsDecodeHintIsSetWhereTheNextStepIsKnownAndHolds) {
  REQUIRE_TESTDATA();
  lmrt::testing::LogCapture log;
  std::vector<Outcome> outs;
  {
    const std::string yaml = "model:\n  path: " + (kTestdata / "models" / "stories260k").string() +
                             "\nengine:\n  backend: test-echo\n  session_len: 64\nplugins:\n  search_paths: [" +
                             std::string(LMRT_TEST_ECHO_PLUGIN_DIR) + "]\nlog_level: info\n";
    Runtime rt(Deployment::parse(yaml, "test", ""));
    std::vector<std::vector<int32_t>> prompts;
    for (uint32_t len : {5u, 20u, 40u, 50u}) prompts.push_back(std::vector<int32_t>(len, 7));
    GenerationParams g = greedy(10);
    g.ignore_eos = true;
    outs = run_one_by_one(rt, {prompts[0], prompts[1], prompts[2]}, g);
    g.max_new_tokens = 30;  // 50 + 30 > 64: session_len ends it after 14
    outs.push_back(run_all(rt, {prompts[3]}, g)[0]);
  }  // test-echo logs its hint count when released
  ASSERT_EQ(outs.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(outs[i].finish, LMRT_FINISH_LENGTH) << i << ": " << outs[i].message;
    EXPECT_EQ(outs[i].tokens.size(), i < 3 ? 10u : 14u) << i;
  }
  // Each request: one prefill step and a step per later token; all but its last hinted.
  EXPECT_NE(log.text().find("test-echo: 44 steps, 40 hinted next-is-decode, 40 of them followed as hinted"),
            std::string::npos)
      << log.text();
}
