// The runtime C API (runtime.h) as frontends and applications see it: pulled
// and called-back events, tokenizer access, JSON documents, and errors as statuses.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "lmrt/core/runtime.hpp"
#include "lmrt/runtime.h"

namespace fs = std::filesystem;

namespace {

const fs::path kTestdata = LMRT_TESTDATA_DIR;
const lmrt_runtime_api& api() { return *lmrt::runtime_api_table(); }

std::string yaml_for(const std::string& model) {
  return "model:\n  path: " + (kTestdata / "models" / model).string() +
         "\nengine:\n  backend: cpu\n  max_kv_blocks: 64\nlog_level: error\n";
}

struct RuntimeGuard {
  lmrt_runtime* rt = nullptr;
  ~RuntimeGuard() { api().runtime_destroy(rt); }
};

std::string take_message(lmrt_status* st) {
  std::string m = api().status_get_message(st);
  api().status_release(st);
  return m;
}

void append_text(void* user, lmrt_str t) { static_cast<std::string*>(user)->append(t.data, t.size); }

}  // namespace

TEST(RuntimeCApi, TableVersionAndDefaults) {
  EXPECT_EQ(api().struct_size, sizeof(lmrt_runtime_api));
  EXPECT_EQ(api().abi_version, LMRT_ABI_VERSION);
  lmrt_gen_config g;
  api().gen_config_init(&g);
  EXPECT_EQ(g.struct_size, sizeof(g));
  EXPECT_EQ(g.max_new_tokens, 512u);
  EXPECT_EQ(g.skip_special_tokens, 1u);
}

TEST(RuntimeCApi, BadDeploymentIsAConfigErrorStatus) {
  std::string yaml = "engine:\n  sesion_len: 5\n";
  lmrt_runtime* rt = nullptr;
  lmrt_status* st = api().runtime_create(lmrt_str{yaml.data(), yaml.size()}, "bad.yaml", nullptr, &rt);
  ASSERT_NE(st, nullptr);
  EXPECT_EQ(api().status_get_code(st), LMRT_STATUS_CONFIG_ERROR);
  EXPECT_NE(take_message(st).find("bad.yaml:2: engine.sesion_len"), std::string::npos);
  EXPECT_EQ(rt, nullptr);
}

TEST(RuntimeCApi, PullCallbackTokenizerAndJson) {
  if (!fs::exists(kTestdata / "models" / "stories260k")) GTEST_SKIP() << "../shared/testdata is absent";
  std::string yaml = yaml_for("stories260k");
  RuntimeGuard g;
  ASSERT_EQ(api().runtime_create(lmrt_str{yaml.data(), yaml.size()}, "test", nullptr, &g.rt), nullptr);

  lmrt_gen_config gen;
  api().gen_config_init(&gen);
  gen.temperature = 0;
  gen.max_new_tokens = 12;
  gen.logprobs = 1;
  gen.top_logprobs = 3;
  lmrt_request_params p{};
  p.struct_size = sizeof(p);
  p.input_kind = LMRT_INPUT_TEXT;
  std::string prompt = "Once upon a time";
  p.text = lmrt_str{prompt.data(), prompt.size()};
  p.gen = &gen;

  // Pulled.
  uint64_t id = 0;
  ASSERT_EQ(api().submit(g.rt, &p, nullptr, nullptr, &id), nullptr);
  std::string pulled_text;
  std::vector<int32_t> pulled_tokens;
  lmrt_event ev{};
  for (;;) {
    int32_t got = 0;
    ASSERT_EQ(api().next_event(g.rt, id, 10000, &ev, &got), nullptr);
    ASSERT_EQ(got, 1);
    pulled_text.append(ev.text.data, ev.text.size);
    pulled_tokens.insert(pulled_tokens.end(), ev.tokens, ev.tokens + ev.num_tokens);
    if (ev.num_tokens) {
      ASSERT_NE(ev.logprobs, nullptr);
      EXPECT_EQ(ev.logprobs[0].token, ev.tokens[0]);
      EXPECT_EQ(ev.logprobs[0].num_top, 3u);
      EXPECT_LE(ev.logprobs[0].logprob, 0.0f);
      // Greedy: the sampled token is the most likely one.
      EXPECT_EQ(ev.logprobs[0].top_tokens[0], ev.tokens[0]);
    }
    if (ev.kind == LMRT_EVENT_FINISHED) break;
  }
  EXPECT_EQ(ev.finish_reason, LMRT_FINISH_LENGTH);
  EXPECT_EQ(ev.output_tokens, 12u);
  EXPECT_EQ(ev.input_tokens, 5u);
  int32_t got = 0;
  ASSERT_EQ(api().next_event(g.rt, id, 0, &ev, &got), nullptr);  // FINISHED again until released
  EXPECT_EQ(ev.kind, LMRT_EVENT_FINISHED);
  api().release_request(g.rt, id);
  lmrt_status* gone = api().next_event(g.rt, id, 0, &ev, &got);
  EXPECT_EQ(api().status_get_code(gone), LMRT_STATUS_NOT_FOUND);
  api().status_release(gone);

  // Called back: the same greedy text.
  struct Sink {
    std::string text;
    bool finished = false;
  } sink;
  ASSERT_EQ(api().submit(
                g.rt, &p,
                [](void* user, const lmrt_event* e) {
                  auto* s = static_cast<Sink*>(user);
                  s->text.append(e->text.data, e->text.size);
                  if (e->kind == LMRT_EVENT_FINISHED) s->finished = true;
                },
                &sink, &id),
            nullptr);
  for (int i = 0; i < 1000 && !sink.finished; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(sink.finished);
  EXPECT_EQ(sink.text, pulled_text);

  // Tokenizer access and decode of what was generated.
  std::vector<int32_t> ids;
  ASSERT_EQ(api().encode(g.rt, p.text, 1,
                         [](void* u, const int32_t* t, uint32_t n) {
                           static_cast<std::vector<int32_t>*>(u)->assign(t, t + n);
                         },
                         &ids),
            nullptr);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 403, 407, 261, 378}));  // published in gold/stories260k.md
  std::string decoded;
  ASSERT_EQ(api().decode(g.rt, pulled_tokens.data(), uint32_t(pulled_tokens.size()), 1, append_text, &decoded),
            nullptr);
  EXPECT_EQ(decoded.substr(decoded.find_first_not_of(' ')), pulled_text.substr(pulled_text.find_first_not_of(' ')));

  std::string info, stats;
  ASSERT_EQ(api().info_json(g.rt, append_text, &info), nullptr);
  ASSERT_EQ(api().stats_json(g.rt, append_text, &stats), nullptr);
  auto i = nlohmann::json::parse(info);
  EXPECT_EQ(i["architecture"], "llama");
  EXPECT_EQ(i["engine"], "cpu");
  EXPECT_EQ(i["kv_blocks"], 64);
  auto s = nlohmann::json::parse(stats);
  EXPECT_GE(s["generated_tokens"].get<int>(), 24);
}

TEST(RuntimeCApi, ErrorsAreStatusesNotCrashes) {
  if (!fs::exists(kTestdata / "models" / "stories260k")) GTEST_SKIP() << "../shared/testdata is absent";
  std::string yaml = yaml_for("stories260k");
  RuntimeGuard g;
  ASSERT_EQ(api().runtime_create(lmrt_str{yaml.data(), yaml.size()}, "test", nullptr, &g.rt), nullptr);
  uint64_t id = 0;
  lmrt_status* st = api().submit(g.rt, nullptr, nullptr, nullptr, &id);
  EXPECT_EQ(api().status_get_code(st), LMRT_STATUS_INVALID_ARGUMENT);
  api().status_release(st);

  lmrt_request_params small{};
  small.struct_size = 8;  // a caller from another ABI era
  st = api().submit(g.rt, &small, nullptr, nullptr, &id);
  EXPECT_EQ(api().status_get_code(st), LMRT_STATUS_ABI_MISMATCH);
  api().status_release(st);

  lmrt_request_params p{};
  p.struct_size = sizeof(p);
  p.input_kind = 77;
  st = api().submit(g.rt, &p, nullptr, nullptr, &id);
  EXPECT_EQ(api().status_get_code(st), LMRT_STATUS_INVALID_ARGUMENT);
  api().status_release(st);

  // Invalid UTF-8 in a prompt is accepted (replaced), not a crash.
  std::string bad = "Once \xff\xfe upon";
  p.input_kind = LMRT_INPUT_TEXT;
  p.text = lmrt_str{bad.data(), bad.size()};
  lmrt_gen_config gen;
  api().gen_config_init(&gen);
  gen.max_new_tokens = 2;
  p.gen = &gen;
  ASSERT_EQ(api().submit(g.rt, &p, nullptr, nullptr, &id), nullptr);
  lmrt_event ev{};
  int32_t got = 0;
  do {
    ASSERT_EQ(api().next_event(g.rt, id, 10000, &ev, &got), nullptr);
  } while (got && ev.kind != LMRT_EVENT_FINISHED);
  EXPECT_EQ(ev.finish_reason, LMRT_FINISH_LENGTH);
  api().release_request(g.rt, id);

  EXPECT_EQ(api().status_get_code(api().cancel(g.rt, 123456)), LMRT_STATUS_OK);  // unknown id: a no-op
  st = api().cancel(nullptr, 1);
  EXPECT_EQ(api().status_get_code(st), LMRT_STATUS_INVALID_ARGUMENT);
  api().status_release(st);
}
