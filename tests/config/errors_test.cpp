// Every kind of bad deployment file gives a CONFIG_ERROR "FILE:LINE: KEY: problem"
// pointing at the right line and key.
#include <gtest/gtest.h>

#include "config_test_util.hpp"
#include "lmrt/core/config.hpp"

namespace fs = std::filesystem;
using lmrt::Deployment;
using lmrt::test::config_error_of;

namespace {

// Writes `text` to deploy.yaml in a scratch folder, loads it and returns the error message.
std::string load_error(const std::string& text, std::string* file_out = nullptr) {
  lmrt::test::ScratchDir dir;
  auto file = dir.write("deploy.yaml", text);
  if (file_out) *file_out = file.string();
  return config_error_of([&] { Deployment::load_file(file); });
}

// The message must start with "<file>:<line>: <key>: " and contain `problem`.
void expect_error(const std::string& text, int line, const std::string& key, const std::string& problem) {
  std::string file;
  std::string msg = load_error(text, &file);
  std::string prefix = file + ":" + std::to_string(line) + ": " + key + ": ";
  EXPECT_EQ(msg.substr(0, prefix.size()), prefix) << "message: " << msg;
  EXPECT_NE(msg.find(problem), std::string::npos) << "message: " << msg << "\nexpected to contain: " << problem;
}

}  // namespace

TEST(ConfigErrors, UnknownKeyNamesFileLineKeyAndTheClosestName) {
  std::string text = "# deployment\nmodel:\n  path: /m\n";
  for (int i = 0; i < 6; ++i) text += "# filler\n";
  text += "engine:\n  session_len: 1\n  sesion_len: 4096\n";  // line 12
  std::string file;
  std::string msg = load_error(text, &file);
  EXPECT_EQ(msg, file + ":12: engine.sesion_len: unknown key (did you mean 'session_len'?)");
}

TEST(ConfigErrors, UnknownKeys) {
  expect_error("engnie:\n  tp: 1\n", 1, "engnie", "unknown key (did you mean 'engine'?)");
  expect_error("generation:\n  temprature: 0.5\n", 2, "generation.temprature", "did you mean 'temperature'?");
  expect_error("frontends:\n  http-server:\n    server_prot: 1\n", 3, "frontends.http-server.server_prot",
               "did you mean 'server_port'?");
  expect_error("engine:\n  temperature: 0.5\n", 2, "engine.temperature",
               "unknown key (it belongs in 'generation': generation.temperature)");
  // Nothing close: the valid names are listed.
  expect_error("model:\n  zzzzzzzz: 1\n", 2, "model.zzzzzzzz",
               "unknown key (valid keys: path, name, format, chat_template, rope_scaling_factor)");
}

TEST(ConfigErrors, YamlSyntaxErrorsGiveTheLine) {
  std::string file;
  std::string msg = load_error("engine:\n  session_len: 1\n  max_batch_size: 2: 3\n", &file);
  EXPECT_EQ(msg.rfind(file + ":3: YAML syntax error: ", 0), 0u) << msg;
  msg = load_error("model:\n  path: /m\n bad: 1\n", &file);
  EXPECT_EQ(msg.rfind(file + ":3: YAML syntax error: ", 0), 0u) << msg;
}

TEST(ConfigErrors, WrongTypes) {
  expect_error("engine:\n  session_len: abc\n", 2, "engine.session_len", "expected an integer, got 'abc'");
  expect_error("engine:\n  session_len: 4096.0\n", 2, "engine.session_len", "expected an integer, got '4096.0'");
  expect_error("engine:\n  session_len: 99999999999999999999\n", 2, "engine.session_len",
               "expected an integer, got '99999999999999999999' (too large)");
  expect_error("engine:\n  cache_max_entry_count: lots\n", 2, "engine.cache_max_entry_count",
               "expected a number, got 'lots'");
  expect_error("generation:\n  temperature: .nan\n", 2, "generation.temperature", "expected a number, got '.nan'");
  expect_error("engine:\n  enable_prefix_caching: maybe\n", 2, "engine.enable_prefix_caching",
               "expected true or false, got 'maybe'");
  expect_error("engine:\n  tp: [1, 2]\n", 2, "engine.tp", "expected an integer, got a list");
  expect_error("model:\n  name: {a: 1}\n", 2, "model.name", "expected a string, got a map");
  expect_error("generation:\n  stop_words: </s>\n", 2, "generation.stop_words", "expected a list of strings, got '</s>'");
  expect_error("generation:\n  stop_words:\n    - a\n    - {b: 1}\n", 4, "generation.stop_words",
               "item 2: expected a string, got a map");
  expect_error("engine:\n  max_batch_size:\n  tp: 1\n", 2, "engine.max_batch_size", "expected an integer, got nothing");
}

TEST(ConfigErrors, OutOfRangeValuesStateTheRange) {
  expect_error("engine:\n  max_batch_size: 0\n", 2, "engine.max_batch_size", "0 is out of range; expected 1..4096");
  expect_error("engine:\n  max_batch_size: 4097\n", 2, "engine.max_batch_size", "expected 1..4096");
  expect_error("engine:\n  session_len: -1\n", 2, "engine.session_len", "-1 is out of range; expected >= 0");
  expect_error("engine:\n  cache_max_entry_count: 0\n", 2, "engine.cache_max_entry_count",
               "0 is out of range; expected (0.0, 1.0]");
  expect_error("engine:\n  cache_max_entry_count: 1.5\n", 2, "engine.cache_max_entry_count", "expected (0.0, 1.0]");
  expect_error("engine:\n  cache_block_seq_len: 100\n", 2, "engine.cache_block_seq_len",
               "100 is out of range; expected a power of two in 16..1024");
  expect_error("engine:\n  cache_block_seq_len: 8\n", 2, "engine.cache_block_seq_len", "a power of two in 16..1024");
  expect_error("engine:\n  cache_block_seq_len: 2048\n", 2, "engine.cache_block_seq_len", "a power of two in 16..1024");
  expect_error("engine:\n  quant_policy: 2\n", 2, "engine.quant_policy", "2 is out of range; expected one of 0, 4, 8");
  expect_error("engine:\n  tp: 65\n", 2, "engine.tp", "expected 1..64");
  expect_error("engine:\n  max_prefill_token_num: 0\n", 2, "engine.max_prefill_token_num", "expected 1..1048576");
  expect_error("generation:\n  top_p: 0\n", 2, "generation.top_p", "expected (0.0, 1.0]");
  expect_error("generation:\n  min_p: 1.5\n", 2, "generation.min_p", "expected [0.0, 1.0]");
  expect_error("generation:\n  temperature: -0.1\n", 2, "generation.temperature", "expected >= 0.0");
  expect_error("generation:\n  repetition_penalty: 0\n", 2, "generation.repetition_penalty", "expected > 0.0");
  expect_error("generation:\n  seed: -5\n", 2, "generation.seed", "expected >= 0");
  expect_error("frontends:\n  http-server:\n    server_port: 70000\n", 3, "frontends.http-server.server_port",
               "expected 1..65535");
  expect_error("frontends:\n  http-server:\n    max_request_bytes: 100\n", 3, "frontends.http-server.max_request_bytes",
               "expected >= 1024");
  expect_error("model:\n  rope_scaling_factor: -2\n", 2, "model.rope_scaling_factor", "expected >= 0.0");
}

TEST(ConfigErrors, BadChoicesListTheChoices) {
  expect_error("engine:\n  dtype: fp16\n", 2, "engine.dtype",
               "'fp16' is not a valid choice; expected one of auto, float32, float16, bfloat16");
  expect_error("model:\n  format: gptq\n", 2, "model.format", "expected one of hf, awq");
  expect_error("model:\n  chat_template: chatml\n", 2, "model.chat_template",
               "expected one of auto, raw, internlm2, llama2, llama3, qwen2, vicuna");
  expect_error("log_level: verbose\n", 1, "log_level",
               "expected one of trace, debug, info, warning, error, critical, off");
}

TEST(ConfigErrors, SectionsMustBeMaps) {
  expect_error("engine: 5\n", 1, "engine", "expected a map of keys, got '5'");
  expect_error("model:\n  - a\n", 2, "model", "expected a map of keys, got a list");
  expect_error("frontends: [http-server]\n", 1, "frontends", "expected a map from frontend name to its section, got a list");
  expect_error("frontends:\n  my-plugin: on\n", 2, "frontends.my-plugin", "expected a map of keys, got 'on'");
  expect_error("frontends:\n  cli-chat: [a]\n", 2, "frontends.cli-chat", "expected a map of keys, got a list");
  expect_error("- engine\n", 1, "(document)", "expected a map of sections");
  expect_error("just text\n", 1, "(document)", "expected a map of sections");
}

TEST(ConfigErrors, DuplicateKeysAndExtraDocuments) {
  expect_error("engine:\n  tp: 1\n  tp: 2\n", 3, "engine.tp", "duplicate key (first given at line 2)");
  expect_error("engine: {}\nengine: {}\n", 2, "engine", "duplicate key (first given at line 1)");
  expect_error("engine: {}\n---\nmodel: {}\n", 3, "(document)", "expected one YAML document, found 2");
  expect_error("engine:\n  [a, b]: 1\n", 2, "engine", "keys must be plain names, got a list");
}

TEST(ConfigErrors, ParseUsesTheOriginName) {
  std::string msg = config_error_of([] { Deployment::parse("\n\nengine: {tp: 0}\n", "inline-config", ""); });
  EXPECT_EQ(msg, "inline-config:3: engine.tp: 0 is out of range; expected 1..64");
}

TEST(ConfigErrors, UnreadableFiles) {
  lmrt::test::ScratchDir dir;
  auto missing = dir.path() / "nope.yaml";
  std::string msg = config_error_of([&] { Deployment::load_file(missing); });
  EXPECT_EQ(msg.rfind(missing.string() + ": cannot open the file", 0), 0u) << msg;
  msg = config_error_of([&] { Deployment::load_file(dir.path()); });
  EXPECT_EQ(msg, dir.path().string() + ": is a directory, not a YAML file");
}

TEST(ConfigErrors, MissingModelPathWhenOneIsRequired) {
  std::string msg = config_error_of([] { Deployment::parse("engine: {tp: 1}", "d.yaml", "").require_model_path(); });
  EXPECT_EQ(msg.rfind("d.yaml: model.path: required to load a model", 0), 0u) << msg;
}

TEST(ConfigErrors, MalformedFiles) {
  // Binary garbage: an error naming the file, with the bad value cut short.
  std::string garbage;
  for (int i = 0; i < 1024; ++i) garbage += static_cast<char>(i % 256);
  std::string file;
  std::string msg = load_error(garbage, &file);
  EXPECT_EQ(msg.rfind(file + ":", 0), 0u) << msg;
  EXPECT_LT(msg.size(), file.size() + 300) << msg;
  // Pathological nesting is refused, not a stack overflow.
  msg = load_error("engine: " + std::string(100000, '[') + std::string(100000, ']') + "\n", &file);
  EXPECT_EQ(msg.rfind(file + ":1: ", 0), 0u) << msg.substr(0, 200);
  // Tabs may not indent YAML.
  msg = load_error("engine:\n\ttp: 2\n", &file);
  EXPECT_EQ(msg.rfind(file + ":2: YAML syntax error: ", 0), 0u) << msg;
  // A long bad value is cut in the message.
  expect_error("engine:\n  dtype: " + std::string(500, 'x') + "\n", 2, "engine.dtype", "'" + std::string(60, 'x') + "...'");
}

TEST(ConfigErrors, Utf8ByteOrderMarkIsAccepted) {
  lmrt::test::ScratchDir dir;
  auto file = dir.write("bom.yaml", "\xEF\xBB\xBF" "engine:\n  tp: 2\n");
  EXPECT_EQ(Deployment::load_file(file).engine().tp, 2);
}
