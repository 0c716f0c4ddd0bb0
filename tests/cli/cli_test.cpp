// The lmrt executable end to end: subcommands, flags, exit codes, and the
// published stories260k output through `generate` and `chat`.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "lmrt/abi.h"
#include "run_command.hpp"

namespace fs = std::filesystem;
using lmrt::test::quote;
using lmrt::test::run_command;

namespace {

const fs::path kTestdata = LMRT_TESTDATA_DIR;
const std::string kLmrt = LMRT_EXE;

std::string models(const std::string& name) { return (kTestdata / "models" / name).string(); }

#define REQUIRE_TESTDATA()                                                                  \
  if (!fs::exists(kTestdata / "models" / "stories260k"))                                    \
  GTEST_SKIP() << "../shared/testdata is absent: skipping tests that need the real models"

// The published 64-token greedy continuation and first ids of stories260k.
struct Gold {
  std::string text64;
  std::vector<int> first_ids;
};

Gold read_gold() {
  std::string md = lmrt::test::read_file(kTestdata / "gold" / "stories260k.md");
  Gold g;
  auto at = md.find("64 generated tokens:");
  auto q = md.find('"', at);
  auto line_end = md.find('\n', q);
  g.text64 = nlohmann::json::parse(md.substr(q, line_end - q)).get<std::string>();
  std::smatch m;
  std::string ids_line = md.substr(md.find("the first generated ids are"));
  std::regex num("(\\d+)");
  std::string ids = ids_line.substr(0, ids_line.find('.'));
  for (auto it = std::sregex_iterator(ids.begin(), ids.end(), num); it != std::sregex_iterator(); ++it)
    g.first_ids.push_back(std::stoi((*it)[1]));
  return g;
}

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("lmrt-cli-" + name + "-" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d;
}

}  // namespace

TEST(Cli, HelpListsTheLmdeploySubcommands) {
  auto r = run_command(kLmrt + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* sub : {"chat", "serve", "generate", "lite", "run", "config", "plugins", "check_env"})
    EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  auto serve = run_command(kLmrt + " serve api_server --help");
  for (const char* flag : {"--server-name", "--server-port", "--tp", "--cache-max-entry-count", "--session-len",
                           "--quant-policy", "--model-format", "--backend", "--enable-prefix-caching"})
    EXPECT_NE(serve.out.find(flag), std::string::npos) << flag;
}

TEST(Cli, UnknownFlagIsAUsageError) {
  auto r = run_command(kLmrt + " generate x --no-such-flag");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no-such-flag"), std::string::npos) << r.err;
}

TEST(Cli, UnbuiltCapabilitiesSaySoAndExit2) {
  auto awq = run_command(kLmrt + " lite auto_awq model --work-dir out");
  EXPECT_EQ(awq.exit_code, 2);
  EXPECT_NE(awq.err.find("not implemented"), std::string::npos) << awq.err;
}

TEST(Cli, GenerateReproducesThePublishedStory) {
  REQUIRE_TESTDATA();
  Gold gold = read_gold();
  auto r = run_command(kLmrt + " generate " + quote(models("stories260k")) +
                       " --prompt 'Once upon a time' --max-new-tokens 64 --temperature 0 --log-level error");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, gold.text64 + "\n");
}

TEST(Cli, GenerateInternlm2LayoutGivesTheSameStory) {
  REQUIRE_TESTDATA();
  Gold gold = read_gold();
  auto r = run_command(kLmrt + " generate " + quote(models("stories260k-internlm2")) +
                       " --prompt 'Once upon a time' --max-new-tokens 64 --temperature 0 --log-level error");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, gold.text64 + "\n");
}

TEST(Cli, GenerateJsonHasTheDocumentedFields) {
  REQUIRE_TESTDATA();
  Gold gold = read_gold();
  fs::path dir = temp_dir("json");
  std::ofstream(dir / "prompts.txt") << "Once upon a time\nThe little dog\n";
  auto r = run_command(kLmrt + " generate " + quote(models("stories260k")) + " --prompts-file " +
                       quote((dir / "prompts.txt").string()) +
                       " --max-new-tokens 12 --temperature 0 --json --log-level error");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  auto a = nlohmann::json::parse(first), b = nlohmann::json::parse(second);
  EXPECT_EQ(a["prompt"], "Once upon a time");
  EXPECT_EQ(b["prompt"], "The little dog");
  EXPECT_EQ(a["token_ids"].get<std::vector<int>>(), gold.first_ids);
  EXPECT_EQ(a["input_tokens"], 5);
  EXPECT_EQ(a["output_tokens"], 12);
  EXPECT_EQ(a["finish_reason"], "length");
  EXPECT_EQ(gold.text64.rfind(a["text"].get<std::string>(), 0), 0u) << a["text"];
  fs::remove_all(dir);
}

TEST(Cli, ChatReadsTurnsFromStdinAndStreamsAnswers) {
  REQUIRE_TESTDATA();
  Gold gold = read_gold();
  fs::path dir = temp_dir("chat");
  std::ofstream(dir / "chat.yaml") << "model:\n  path: " << models("stories260k")
                                   << "\ngeneration:\n  temperature: 0\n  max_new_tokens: 64\nlog_level: error\n";
  auto r = run_command(kLmrt + " chat --config " + quote((dir / "chat.yaml").string()),
                       "Once upon a time\nreset\nOnce upon a time\nexit\nnot read\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // stories260k has no chat template (raw): each answer is the greedy story.
  EXPECT_EQ(r.out, gold.text64 + "\n" + gold.text64 + "\n");
  fs::remove_all(dir);
}

TEST(Cli, ConfigValidateNamesFileLineAndKey) {
  fs::path dir = temp_dir("validate");
  std::ofstream(dir / "syntax.yaml") << "engine:\n  session_len: [1, 2\n";
  std::ofstream(dir / "unknown.yaml") << "engine:\n  backend: cpu\n  sesion_len: 10\n";
  std::ofstream(dir / "type.yaml") << "model:\n  path: x\nengine:\n  max_batch_size: many\n";
  std::ofstream(dir / "good.yaml") << "engine:\n  backend: cpu\n";

  auto syntax = run_command(kLmrt + " config validate " + quote((dir / "syntax.yaml").string()));
  EXPECT_NE(syntax.exit_code, 0);
  EXPECT_NE(syntax.err.find("syntax.yaml:"), std::string::npos) << syntax.err;

  auto unknown = run_command(kLmrt + " config validate " + quote((dir / "unknown.yaml").string()));
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("unknown.yaml:3: engine.sesion_len"), std::string::npos) << unknown.err;
  EXPECT_NE(unknown.err.find("session_len"), std::string::npos) << unknown.err;

  auto type = run_command(kLmrt + " config validate " + quote((dir / "type.yaml").string()));
  EXPECT_NE(type.exit_code, 0);
  EXPECT_NE(type.err.find("type.yaml:4: engine.max_batch_size"), std::string::npos) << type.err;

  auto good = run_command(kLmrt + " config validate " + quote((dir / "good.yaml").string()));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  fs::remove_all(dir);
}

TEST(Cli, FlagsOverrideTheConfigFile) {
  fs::path dir = temp_dir("precedence");
  std::ofstream(dir / "d.yaml") << "engine:\n  session_len: 100\n  max_batch_size: 7\n";
  auto r = run_command(kLmrt + " config print --config " + quote((dir / "d.yaml").string()) + " --session-len 4096");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("session_len: 4096"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max_batch_size: 7"), std::string::npos) << r.out;
  auto bad = run_command(kLmrt + " config print --session-len lots");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--session-len"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

TEST(Cli, PluginsListShowsTheBuiltPlugins) {
  auto r = run_command(kLmrt + " plugins list");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("cpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cli-chat"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("engine"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1." + std::to_string(LMRT_ABI_VERSION_MINOR)), std::string::npos) << r.out;
}

TEST(Cli, CheckEnvReportsPlugins) {
  auto r = run_command(kLmrt + " check_env");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("plugin ABI 1." + std::to_string(LMRT_ABI_VERSION_MINOR)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("devices: cpu"), std::string::npos) << r.out;
  // The driver line is there with or without a GPU: the version, or why there is none.
  const bool driver = std::ifstream("/proc/driver/nvidia/version").good();
  EXPECT_NE(r.out.find(driver ? "NVIDIA driver: NVRM" : "NVIDIA driver: none"), std::string::npos) << r.out;
}

TEST(Cli, RunStartsTheFrontendOfADeploymentFile) {
  fs::path dir = temp_dir("run");
  std::ofstream(dir / "d.yaml") << "plugins:\n  search_paths: [" << LMRT_BINARY_DIR
                                << "/test-plugins/good]\nfrontends:\n  test-hello:\n    greeting: hi\n";
  auto r = run_command(kLmrt + " run " + quote((dir / "d.yaml").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("greeting: hi"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("runtime=no"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(Cli, MissingFrontendPluginExits2) {
  fs::path dir = temp_dir("nofrontend");
  std::ofstream(dir / "d.yaml") << "frontends:\n  no-such-frontend: {}\n";
  auto r = run_command(kLmrt + " run " + quote((dir / "d.yaml").string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("'no-such-frontend' frontend plugin is not available in this build"), std::string::npos)
      << r.err;
  fs::remove_all(dir);
}

#define REQUIRE_BUNDLED_MODEL()                                                             \
  if (!fs::exists(fs::path(LMRT_SOURCE_DIR) / "models" / "lmrt-chat-tiny" / "config.json")) \
  GTEST_SKIP() << "models/lmrt-chat-tiny is absent"

namespace {

// `lmrt chat FLAGS` with no model named (so the bundled one), greedy, fed `input` on stdin.
lmrt::test::CommandResult chat_with_bundled_model(const std::string& flags, const std::string& input) {
  fs::path dir = temp_dir("bundled");
  std::ofstream(dir / "greedy.yaml") << "generation:\n  temperature: 0\nlog_level: error\n";
  auto r = run_command("env -u LMRT_DEFAULT_MODEL " + kLmrt + " chat " + flags + " --config " +
                           quote((dir / "greedy.yaml").string()),
                       input);
  fs::remove_all(dir);
  return r;
}

}  // namespace

// With no model named, chat / generate / serve load the bundled lmrt-chat-tiny (docs/chat-model.md).
TEST(Cli, ChatWithNoModelTalksWithTheBundledModel) {
  REQUIRE_BUNDLED_MODEL();
  auto r = chat_with_bundled_model("", "What is 3 + 4?\nSpell cat backwards.\nreset\nWhat is the capital of France?\nexit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("3 + 4 = 7."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tac"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("The capital of France is Paris."), std::string::npos) << r.out;
}

TEST(Cli, ChatSaysWhenTheSessionIsFullAndResetStartsOver) {
  REQUIRE_BUNDLED_MODEL();
  // The default system prompt takes most of 240 tokens: two short turns fit, the third does not.
  auto r = chat_with_bundled_model("--session-len 240",
                                   "What is 3 + 4?\nWhat is 5 + 6?\nWhat is 7 + 1?\nreset\nWhat is 2 + 2?\nexit\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto full = r.out.find("[the session is full: ");
  ASSERT_NE(full, std::string::npos) << r.out;
  EXPECT_LT(r.out.find("5 + 6 = 11."), full) << "the second turn fits:\n" << r.out;
  EXPECT_NE(r.out.find("session_len 240", full), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("7 + 1 = 8."), std::string::npos) << "the turn that does not fit gets no answer:\n" << r.out;
  EXPECT_NE(r.out.find("2 + 2 = 4.", full), std::string::npos) << "after reset the chat goes on:\n" << r.out;
}

// 64 prompts submitted at once give what each gives alone (--max-batch-size 1).
TEST(Cli, GenerateBatchOf64EqualsOneAtATime) {
  REQUIRE_TESTDATA();
  fs::path dir = temp_dir("batch64");
  {
    std::ofstream f(dir / "prompts.txt");
    const char* starts[] = {"Once upon a time", "The cat", "Tom and Sue", "One day, a big", "The sun was", "Lily wanted",
                            "A little bird", "The dog ran"};
    for (int i = 0; i < 64; ++i) f << starts[i % 8] << (i >= 8 ? std::string(" ") + std::to_string(i) : "") << "\n";
  }
  const std::string base = kLmrt + " generate " + quote(models("stories260k")) + " --prompts-file " +
                           quote((dir / "prompts.txt").string()) + " --max-new-tokens 24 --temperature 0 --json --log-level error";
  auto batched = run_command(base);
  auto alone = run_command(base + " --max-batch-size 1");
  ASSERT_EQ(batched.exit_code, 0) << batched.err;
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  EXPECT_EQ(std::count(batched.out.begin(), batched.out.end(), '\n'), 64);
  EXPECT_EQ(batched.out, alone.out);
  fs::remove_all(dir);
}

// The throughput benchmark runs every request to its drawn length (greedy, ignore_eos) and reports what it did.
TEST(Cli, BenchThroughputRunsEveryRequestToItsDrawnLength) {
  REQUIRE_TESTDATA();
  fs::path dir = temp_dir("bench-throughput");
  auto run = [&](const std::string& name, const std::string& extra) {
    auto r = run_command(kLmrt + " bench throughput " + quote(models("stories260k")) +
                         " --backend cpu --num-prompts 24 --seed 7 --log-level error --json " +
                         quote((dir / name).string()) + " " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("requests/s"), std::string::npos) << r.out;
    return nlohmann::json::parse(lmrt::test::read_file(dir / name))["result"];
  };
  const auto all = run("all.json", "");
  const auto four = run("four.json", "--concurrency 4");
  EXPECT_EQ(all["num_prompts"], 24);
  EXPECT_EQ(all["output_tokens"], all["expected_output_tokens"]);
  EXPECT_GT(all["output_tokens"].get<uint64_t>(), 24u * 4);
  // Same seed, same lengths, whatever the concurrency.
  EXPECT_EQ(four["input_tokens"], all["input_tokens"]);
  EXPECT_EQ(four["output_tokens"], all["output_tokens"]);
  // A request of stories260k's 512-token session holds at most 8 blocks of 64: four in flight hold at most 32,
  // and all 24 at once hold more.
  EXPECT_LE(four["peak_kv_blocks"].get<uint64_t>(), 4u * 8);
  EXPECT_GT(all["peak_kv_blocks"].get<uint64_t>(), 4u * 8);
  EXPECT_GT(all["requests_per_s"].get<double>(), 0.0);
  EXPECT_GE(all["ttft_p99_ms"].get<double>(), all["ttft_p50_ms"].get<double>());
  auto bad = run_command(kLmrt + " bench throughput " + quote(models("stories260k")) + " --num-prompts 0");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--num-prompts"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

// The generation benchmark's floors count what a step reads and a prefill computes, taken here from the model
// file's own tensors: every weight once at 2 bytes but the (untied) embedding table, of which a decode step reads a
// row per sequence, plus the KV of every sequence at its average context; a prompt's prefill multiplies each layer
// weight once per token, runs causal attention over half the square, and the LM head once.
TEST(Cli, BenchGenerationFloorsCountWhatAStepReadsAndAPrefillComputes) {
  REQUIRE_TESTDATA();
  const std::string model = models("stories260k");
  std::ifstream st(fs::path(model) / "model.safetensors", std::ios::binary);
  uint64_t header_len = 0;
  st.read(reinterpret_cast<char*>(&header_len), 8);
  std::string header(header_len, '\0');
  st.read(header.data(), static_cast<std::streamsize>(header_len));
  double streamed = 0, layer = 0, lm_head = 0, embedding_row = 0, kv_per_token = 0, attention_width = 0;
  const auto tensors = nlohmann::json::parse(header);
  for (auto it = tensors.begin(); it != tensors.end(); ++it) {
    const std::string& name = it.key();
    const auto& t = it.value();
    if (name == "__metadata__") continue;
    double n = 1;
    for (const auto& d : t["shape"]) n *= d.get<double>();
    if (name == "model.embed_tokens.weight") {
      embedding_row = 2.0 * t["shape"][1].get<double>();
      continue;
    }
    streamed += 2 * n;
    if (name.rfind("model.layers.", 0) == 0) layer += n;
    if (name == "lm_head.weight") lm_head = n;
    if (name.find("k_proj.weight") != std::string::npos) kv_per_token += 2 * 2 * t["shape"][0].get<double>();
    if (name.find("q_proj.weight") != std::string::npos) attention_width += t["shape"][0].get<double>();
  }
  ASSERT_GT(embedding_row, 0);
  ASSERT_GT(lm_head, 0);
  fs::path dir = temp_dir("bench-generation");
  const auto json = dir / "gen.json";
  auto r = run_command(kLmrt + " bench generation " + quote(model) +
                       " --backend cpu --batch 1,3 --input 8 --output 4 --hbm-gbps 100 --matrix-tflops 2"
                       " --log-level error --json " + quote(json.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("prefill"), std::string::npos) << r.out;
  const auto results = nlohmann::json::parse(lmrt::test::read_file(json))["results"];
  ASSERT_EQ(results.size(), 2u);
  for (const auto& row : results) {
    const double batch = row["batch"].get<double>(), context = 8 + 4 / 2.0;
    EXPECT_NEAR(row["step_bytes"].get<double>(), streamed + batch * (embedding_row + context * kv_per_token), 1e-6)
        << row.dump();
    const double flops = 2 * layer * 8 + 2 * attention_width * 8 * 8 + 2 * lm_head;
    const double rate = row["prefill_tflop_s"].get<double>();
    EXPECT_NEAR(rate * 1e12 * row["ttft_max_s"].get<double>(), batch * flops, 1e-6 * batch * flops) << row.dump();
    EXPECT_NEAR(row["prefill_fraction"].get<double>(), rate / 2, 1e-12);
    EXPECT_NEAR(row["roofline_fraction"].get<double>() * row["token_p50_ms"].get<double>() * 1e-3,
                row["step_bytes"].get<double>() / 100e9, 1e-12);
  }
  fs::remove_all(dir);
}

TEST(Cli, DefaultModelFollowsLmrtDefaultModel) {
  REQUIRE_TESTDATA();
  Gold gold = read_gold();
  auto r = run_command("LMRT_DEFAULT_MODEL=" + quote(models("stories260k")) + " " + kLmrt +
                       " generate --prompt 'Once upon a time' --max-new-tokens 64 --temperature 0 --log-level error");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, gold.text64 + "\n");
}

TEST(Cli, MissingModelIsAClearError) {
  auto r = run_command(kLmrt + " generate /nonexistent/model --prompt hi --log-level error");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/nonexistent/model"), std::string::npos) << r.err;
}

namespace {

// A child process with pipes to its stdin and stdout.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~Child() {
    if (to_ >= 0) close(to_);
    close(from_);
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void write_line(const std::string& s) { ASSERT_EQ(::write(to_, s.data(), s.size()), ssize_t(s.size())); }
  // Reads until `needle` appears in everything read so far (or the time is up).
  bool read_until(const std::string& needle, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (output.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{from_, POLLIN, 0};
      if (poll(&p, 1, int(left.count())) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(from_, buf, sizeof buf);
      if (n <= 0) return output.find(needle) != std::string::npos;
      output.append(buf, size_t(n));
    }
    return true;
  }
  void signal(int sig) { kill(pid_, sig); }
  int wait() {
    close(to_);
    to_ = -1;
    read_until("\x01never", 20000);  // drain until EOF
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string output;

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
  bool waited_ = false;
};

}  // namespace

TEST(Cli, CtrlCStopsTheAnswerButNotTheChat) {
  REQUIRE_TESTDATA();
  fs::path dir = temp_dir("ctrlc");
  // An answer long enough to interrupt: no EOS, a long session.
  std::ofstream(dir / "chat.yaml") << "model:\n  path: " << models("stories260k")
                                   << "\nengine:\n  session_len: 1000000\ngeneration:\n  temperature: 0\n"
                                   << "  max_new_tokens: 0\n  ignore_eos: true\nlog_level: error\n";
  Child chat({kLmrt, "chat", "--config", (dir / "chat.yaml").string()});
  chat.write_line("Once upon a time\n");
  ASSERT_TRUE(chat.read_until("Lily", 30000)) << chat.output;
  chat.signal(SIGINT);
  ASSERT_TRUE(chat.read_until("[stopped]", 30000)) << chat.output.substr(0, 300);
  // The chat goes on: a second Ctrl-C at the prompt only says how to leave.
  chat.signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  chat.write_line("exit\n");
  EXPECT_EQ(chat.wait(), 0) << chat.output.substr(chat.output.size() > 300 ? chat.output.size() - 300 : 0);
  fs::remove_all(dir);
}
