// lmrt-chat-tiny: the committed tokenizer (training/tokenizer/) read by lmrt the way training used it, and the
// end-to-end accuracy check on the held-out eval sample (tests/chat_model/data/eval_ci.jsonl): greedy answers on
// the cpu engine must be right at least kMinAccuracy of the time. An answer is right when it equals the expected one after
// normalize_answer(): ASCII lower case, runs of whitespace -> one space, outer whitespace and trailing . ! ?
// removed (training/train.py scores the same way).
//
// Environment: LMRT_CHAT_MODEL=DIR checks another folder (e.g. a quantized copy); LMRT_CHAT_EVAL=FILE another
// eval file (e.g. training/data/out/eval.jsonl, all 2000 items); LMRT_CHAT_BACKEND=NAME another engine (the GPU
// check runs it with turbomind-cuda-fp16).
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "lmrt/core/chat_template.hpp"
#include "lmrt/core/config.hpp"
#include "lmrt/core/runtime.hpp"
#include "lmrt/core/tokenizer.hpp"

namespace fs = std::filesystem;
using namespace lmrt;
using nlohmann::json;

namespace {

const fs::path kSource = LMRT_SOURCE_DIR;
const fs::path kTokenizer = kSource / "training" / "tokenizer";

fs::path model_dir() {
  if (const char* p = std::getenv("LMRT_CHAT_MODEL")) return p;
  return kSource / "models" / "lmrt-chat-tiny";
}

std::string backend() {
  if (const char* p = std::getenv("LMRT_CHAT_BACKEND")) return p;
  return "cpu";
}

fs::path eval_file() {
  if (const char* p = std::getenv("LMRT_CHAT_EVAL")) return p;
  return kSource / "tests" / "chat_model" / "data" / "eval_ci.jsonl";
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::vector<json> read_jsonl(const fs::path& p) {
  std::ifstream in(p);
  std::vector<json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

std::string normalize_answer(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  while (!out.empty() && (out.back() == '.' || out.back() == '!' || out.back() == '?' || out.back() == ' '))
    out.pop_back();
  return out;
}

std::vector<ChatMessage> to_messages(const json& msgs, size_t count) {
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < count; ++i) out.push_back({msgs[i]["role"], msgs[i]["content"]});
  return out;
}

}  // namespace

TEST(ChatModelScoring, NormalizationRule) {
  EXPECT_EQ(normalize_answer("3 + 4 = 7."), "3 + 4 = 7");
  EXPECT_EQ(normalize_answer("  3 +  4 = 7 "), "3 + 4 = 7");
  EXPECT_EQ(normalize_answer("The capital of France is Paris!?"), "the capital of france is paris");
  EXPECT_EQ(normalize_answer("3, 4, 5\n"), "3, 4, 5");
  EXPECT_NE(normalize_answer("3 + 4 = 7."), normalize_answer("3 + 4 = 8."));
  EXPECT_NE(normalize_answer("tac"), normalize_answer("cat"));
  EXPECT_NE(normalize_answer("1, 2, 3"), normalize_answer("1 2 3"));
  EXPECT_EQ(normalize_answer(""), "");
}

TEST(ChatModelScoring, EvalSampleIsWellFormedAndAnswersDiffer) {
  const auto rows = read_jsonl(kSource / "tests" / "chat_model" / "data" / "eval_ci.jsonl");
  ASSERT_EQ(rows.size(), 200u);
  std::set<std::string> answers;
  for (const json& r : rows) {
    const json& m = r.at("messages");
    ASSERT_GE(m.size(), 2u);
    EXPECT_EQ(m.back()["role"], "assistant");
    EXPECT_EQ(m[m.size() - 2]["role"], "user");
    EXPECT_NE(m[0]["role"], "system") << "eval prompts get lmrt's default system prompt, as at inference";
    answers.insert(normalize_answer(m.back()["content"].get<std::string>()));
  }
  EXPECT_GT(answers.size(), 120u) << "the sample must not be dominated by one answer";
}

// ---------------------------------------------------------------- the committed tokenizer

TEST(ChatModelTokenizer, SpecialTokensAtTheEndAsInInternLM2) {
  auto tok = Tokenizer::load(kTokenizer);
  EXPECT_EQ(tok->vocab_size(), 2000);
  EXPECT_EQ(tok->token_to_id("<unk>"), 0);
  EXPECT_EQ(tok->token_to_id("<s>"), 1);
  EXPECT_EQ(tok->token_to_id("</s>"), 2);
  EXPECT_EQ(tok->token_to_id("<|plugin|>"), 1994);
  EXPECT_EQ(tok->token_to_id("<|interpreter|>"), 1995);
  EXPECT_EQ(tok->token_to_id("<|action_end|>"), 1996);
  EXPECT_EQ(tok->token_to_id("<|action_start|>"), 1997);
  EXPECT_EQ(tok->token_to_id("<|im_end|>"), 1998);
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 1999);
  EXPECT_EQ(tok->encode("<|im_start|>", false), std::vector<int32_t>{1999});
  EXPECT_EQ(tok->encode("<|im_end|>", false), std::vector<int32_t>{1998});
  EXPECT_TRUE(tok->is_special(1998));
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_TRUE(tok->add_bos());
}

TEST(ChatModelTokenizer, RendersAndRoundTripsAChat) {
  auto tok = Tokenizer::load(kTokenizer);
  EXPECT_EQ(ChatTemplate::detect(kTokenizer), "internlm2");
  const ChatTemplate t = ChatTemplate::by_name("internlm2");
  const std::string text = t.render({{"user", "What is 3 + 4?"}, {"assistant", "3 + 4 = 7."}, {"user", "Hi!"}}, true);
  const auto ids = tok->encode(text, t.encode_with_special_tokens());
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 1999);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1999), 5);  // system, user, assistant, user, generation prompt
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1998), 4);
  for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < 2000) << id;
  EXPECT_EQ(tok->decode(ids, false), text);  // lossless: no dummy prefix, whitespace kept, byte fallback
  // digits are split, so numbers compose from ten digit tokens
  EXPECT_EQ(tok->encode("1234", false).size(), 4u);
  // text the tokenizer never saw still round-trips (byte fallback)
  const std::string odd = "Zürich ∑ 🙂 \t two  spaces";
  EXPECT_EQ(tok->decode(tok->encode(odd, false), false), odd);
}

TEST(ChatModelTokenizer, TrainingUsedLmrtsDefaultSystemPromptAndStopIds) {
  // training/data/generate.py puts this text in the training conversations; lmrt inserts its own default
  // when a conversation has none, so the two must be the same bytes.
  EXPECT_EQ(read_text(kSource / "training" / "data" / "default_system.txt"),
            ChatTemplate::by_name("internlm2").default_system());
  const json gen = json::parse(read_text(kTokenizer / "generation_config.json"));
  const auto eos = gen.at("eos_token_id").get<std::vector<int>>();
  EXPECT_NE(std::find(eos.begin(), eos.end(), 1998), eos.end()) << "<|im_end|> must stop generation";
  const json cfg = json::parse(read_text(kTokenizer / "tokenizer_config.json"));
  const json ref = json::parse(read_text(kSource / ".." / "shared" / "testdata" / "tokenizers" / "internlm2" /
                                         "tokenizer_config.json"), nullptr, false);
  if (!ref.is_discarded()) EXPECT_EQ(cfg.at("chat_template"), ref.at("chat_template"));
}

// What train.py fed the model (its own port of lmrt's render + tokenize rules) must be what lmrt feeds it.
TEST(ChatModelTokenizer, LmrtEncodesLikeTraining) {
  const fs::path file = kSource / "tests" / "chat_model" / "data" / "python_encodings.jsonl";
  if (!fs::exists(file)) GTEST_SKIP() << file << " is written by training/train.py --encodings (not yet run)";
  auto tok = Tokenizer::load(kTokenizer);
  const ChatTemplate t = ChatTemplate::by_name("internlm2");
  const auto rows = read_jsonl(file);
  ASSERT_GE(rows.size(), 100u);
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& r = rows[i];
    const std::string text = t.render(to_messages(r["messages"], r["messages"].size()), true);
    ASSERT_EQ(text, r["text"].get<std::string>()) << "row " << i;
    ASSERT_EQ(tok->encode(text, false), r["ids"].get<std::vector<int32_t>>()) << "row " << i;
  }
}

// ---------------------------------------------------------------- the trained model

#define REQUIRE_MODEL()                                                                                     \
  if (!fs::exists(model_dir() / "config.json"))                                                             \
  GTEST_SKIP() << model_dir() << " does not exist yet (train it: training/run-on-gpu.sh, docs/chat-model.md)"

TEST(ChatModel, FolderIsAnInternLM2ChatModel) {
  REQUIRE_MODEL();
  EXPECT_EQ(ChatTemplate::detect(model_dir()), "internlm2");
  const json cfg = json::parse(read_text(model_dir() / "config.json"));
  EXPECT_EQ(cfg.at("model_type"), "internlm2");
  EXPECT_EQ(cfg.at("vocab_size"), 2000);
  EXPECT_LT(fs::file_size(model_dir() / "model.safetensors"), 32u << 20) << "meant to be a few MB";
}

// Issue 8's goal. The committed model answers 198 of these 200 right (99.0%; 98.25% of all 2000 held-out items),
// the same on the cpu and GPU engines (docs/chat-model.md), so a numerical bug or a lossy mode shows.
constexpr double kMinAccuracy = 0.95;

TEST(ChatModel, GreedyAnswersOnTheHeldOutEvalSample) {
  REQUIRE_MODEL();
  const auto rows = read_jsonl(eval_file());
  ASSERT_FALSE(rows.empty()) << eval_file();
  const Deployment d = Deployment::parse("model:\n  path: " + model_dir().string() +
                                             "\nengine:\n  backend: " + backend() + "\nlog_level: error\n",
                                         "chat_model_test", "");
  Runtime rt(d);

  GenerationParams g;
  g.temperature = 0;
  g.max_new_tokens = 64;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> answers(rows.size());
  std::vector<lmrt_finish_reason> finish(rows.size(), LMRT_FINISH_NONE);
  size_t pending = rows.size();
  for (size_t i = 0; i < rows.size(); ++i) {  // all at once: the scheduler batches them
    RequestInput in;
    in.kind = LMRT_INPUT_MESSAGES;
    const json& m = rows[i]["messages"];
    for (size_t k = 0; k + 1 < m.size(); ++k) in.messages.push_back({m[k]["role"], m[k]["content"]});
    rt.submit(in, g, [&, i](const RuntimeEvent& e) {
      std::lock_guard lock(mu);
      answers[i] += e.text;
      if (e.kind == LMRT_EVENT_FINISHED) {
        finish[i] = e.finish_reason;
        if (--pending == 0) cv.notify_all();
      }
    });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  size_t right = 0, stopped = 0;
  std::string wrong;
  for (size_t i = 0; i < rows.size(); ++i) {
    const json& m = rows[i]["messages"];
    const std::string expected = m.back()["content"];
    stopped += finish[i] == LMRT_FINISH_STOP;
    if (normalize_answer(answers[i]) == normalize_answer(expected)) {
      ++right;
    } else if (wrong.size() < 4000) {
      wrong += "  [" + rows[i].value("kind", "?") + "] " + m[m.size() - 2]["content"].get<std::string>() +
               "\n    expected: " + expected + "\n    got:      " + answers[i] + "\n";
    }
  }
  const double acc = static_cast<double>(right) / rows.size();
  std::printf("lmrt-chat-tiny on the %s engine: %zu/%zu right (%.1f%%), %zu stopped at <|im_end|>\n",
              backend().c_str(), right, rows.size(), 100 * acc, stopped);
  EXPECT_GE(acc, kMinAccuracy) << "wrong answers:\n" << wrong;
  EXPECT_GE(stopped, rows.size() * 95 / 100) << "answers must end with <|im_end|>, not run to max_new_tokens";
}
