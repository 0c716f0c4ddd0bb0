// Parsing: every key, the defaults the brief and LMDeploy define, path resolution,
// frontend sections.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "config_test_util.hpp"
#include "lmrt/core/config.hpp"

namespace fs = std::filesystem;
using lmrt::Deployment;

namespace {

// The documented defaults (docs/configuration.md; LMDeploy's TurbomindEngineConfig
// and GenerationConfig where the names match).
void expect_documented_defaults(const Deployment& d) {
  auto m = d.model();
  EXPECT_EQ(m.path, fs::path());
  EXPECT_EQ(m.name, "");
  EXPECT_EQ(m.format, "hf");
  EXPECT_EQ(m.chat_template, "auto");
  EXPECT_EQ(m.rope_scaling_factor, 0.0);
  auto e = d.engine();
  EXPECT_EQ(e.backend, "auto");
  EXPECT_EQ(e.dtype, "auto");
  EXPECT_EQ(e.session_len, 0);
  EXPECT_EQ(e.max_batch_size, 128);
  EXPECT_DOUBLE_EQ(e.cache_max_entry_count, 0.8);
  EXPECT_EQ(e.cache_block_seq_len, 64);
  EXPECT_FALSE(e.enable_prefix_caching);
  EXPECT_EQ(e.max_prefill_token_num, 8192);
  EXPECT_EQ(e.quant_policy, 0);
  EXPECT_EQ(e.tp, 1);
  EXPECT_EQ(e.num_threads, 0);
  EXPECT_EQ(e.device_id, 0);
  auto g = d.generation();
  EXPECT_EQ(g.max_new_tokens, 512);
  EXPECT_EQ(g.min_new_tokens, 0);
  EXPECT_DOUBLE_EQ(g.temperature, 0.8);
  EXPECT_DOUBLE_EQ(g.top_p, 1.0);
  EXPECT_EQ(g.top_k, 0);
  EXPECT_DOUBLE_EQ(g.min_p, 0.0);
  EXPECT_DOUBLE_EQ(g.repetition_penalty, 1.0);
  EXPECT_FALSE(g.seed.has_value());
  EXPECT_FALSE(g.ignore_eos);
  EXPECT_TRUE(g.skip_special_tokens);
  EXPECT_TRUE(g.stop_words.empty());
  EXPECT_TRUE(d.plugins().search_paths.empty());
  EXPECT_TRUE(d.frontend_names().empty());
  EXPECT_EQ(d.log_level(), LMRT_LOG_INFO);
}

}  // namespace

TEST(ConfigParse, DefaultsAreTheDocumentedOnes) { expect_documented_defaults(Deployment::defaults()); }

TEST(ConfigParse, EmptyDocumentsGiveAllDefaults) {
  for (const char* text : {"", "# only a comment\n", "{}", "~", "---\n", "model:\nengine: ~\ngeneration: {}\n"}) {
    SCOPED_TRACE(text);
    Deployment d = Deployment::parse(text, "empty.yaml", "");
    expect_documented_defaults(d);
    EXPECT_EQ(d, Deployment::defaults());
  }
}

TEST(ConfigParse, EveryKeyIsRead) {
  const char* text = R"(
model:
  path: /models/internlm2-chat-7b
  name: chat
  format: awq
  chat_template: internlm2
  rope_scaling_factor: 2.5
engine:
  backend: turbomind-cuda-fp16
  dtype: bfloat16
  session_len: 4096
  max_batch_size: 4096
  cache_max_entry_count: 1
  cache_block_seq_len: 16
  enable_prefix_caching: true
  max_prefill_token_num: 1048576
  quant_policy: 8
  tp: 2
  num_threads: 3
  device_id: 1
generation:
  max_new_tokens: 64
  min_new_tokens: 2
  temperature: 0
  top_p: 0.95
  top_k: 40
  min_p: 0.05
  repetition_penalty: 1.1
  seed: 18446744073709551
  ignore_eos: yes
  skip_special_tokens: off
  stop_words: ["<|im_end|>", "\n\n"]
plugins:
  search_paths: [/opt/lmrt/plugins]
frontends:
  cli-chat:
    system_prompt: You are a helpful assistant.
  http-server:
    server_name: 0.0.0.0
    server_port: 8000
    api_keys: [k1, k2]
    allow_origins: ["*"]
    max_concurrent_requests: 16
    max_request_bytes: 1024
    web_ui: false
  api-client:
    url: http://10.0.0.1:23333
    api_key: secret
  webui:
    url: http://10.0.0.2:23333
    server_name: 0.0.0.0
    server_port: 7860
log_level: debug
)";
  Deployment d = Deployment::parse(text, "full.yaml", "/base");
  auto m = d.model();
  EXPECT_EQ(m.path, fs::path("/models/internlm2-chat-7b"));
  EXPECT_EQ(m.name, "chat");
  EXPECT_EQ(m.format, "awq");
  EXPECT_EQ(m.chat_template, "internlm2");
  EXPECT_DOUBLE_EQ(m.rope_scaling_factor, 2.5);
  auto e = d.engine();
  EXPECT_EQ(e.backend, "turbomind-cuda-fp16");
  EXPECT_EQ(e.dtype, "bfloat16");
  EXPECT_EQ(e.session_len, 4096);
  EXPECT_EQ(e.max_batch_size, 4096);
  EXPECT_DOUBLE_EQ(e.cache_max_entry_count, 1.0);
  EXPECT_EQ(e.cache_block_seq_len, 16);
  EXPECT_TRUE(e.enable_prefix_caching);
  EXPECT_EQ(e.max_prefill_token_num, 1048576);
  EXPECT_EQ(e.quant_policy, 8);
  EXPECT_EQ(e.tp, 2);
  EXPECT_EQ(e.num_threads, 3);
  EXPECT_EQ(e.device_id, 1);
  auto g = d.generation();
  EXPECT_EQ(g.max_new_tokens, 64);
  EXPECT_EQ(g.min_new_tokens, 2);
  EXPECT_DOUBLE_EQ(g.temperature, 0.0);
  EXPECT_DOUBLE_EQ(g.top_p, 0.95);
  EXPECT_EQ(g.top_k, 40);
  EXPECT_DOUBLE_EQ(g.min_p, 0.05);
  EXPECT_DOUBLE_EQ(g.repetition_penalty, 1.1);
  ASSERT_TRUE(g.seed.has_value());
  EXPECT_EQ(*g.seed, 18446744073709551ull);
  EXPECT_TRUE(g.ignore_eos);
  EXPECT_FALSE(g.skip_special_tokens);
  EXPECT_EQ(g.stop_words, (std::vector<std::string>{"<|im_end|>", "\n\n"}));
  EXPECT_EQ(d.plugins().search_paths, (std::vector<fs::path>{"/opt/lmrt/plugins"}));
  EXPECT_EQ(d.frontend_names(), (std::vector<std::string>{"cli-chat", "http-server", "api-client", "webui"}));
  EXPECT_EQ(d.log_level(), LMRT_LOG_DEBUG);

  // Frontend sections, read back by an independent YAML reader.
  YAML::Node chat = YAML::Load(d.frontend_yaml("cli-chat"));
  EXPECT_EQ(chat["system_prompt"].as<std::string>(), "You are a helpful assistant.");
  YAML::Node http = YAML::Load(d.frontend_yaml("http-server"));
  EXPECT_EQ(http["server_name"].as<std::string>(), "0.0.0.0");
  EXPECT_EQ(http["server_port"].as<int>(), 8000);
  EXPECT_EQ(http["api_keys"].as<std::vector<std::string>>(), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(http["allow_origins"].as<std::vector<std::string>>(), (std::vector<std::string>{"*"}));
  EXPECT_EQ(http["max_concurrent_requests"].as<int>(), 16);
  EXPECT_EQ(http["max_request_bytes"].as<int>(), 1024);
  EXPECT_FALSE(http["web_ui"].as<bool>());
  YAML::Node client = YAML::Load(d.frontend_yaml("api-client"));
  EXPECT_EQ(client["url"].as<std::string>(), "http://10.0.0.1:23333");
  EXPECT_EQ(client["api_key"].as<std::string>(), "secret");
  YAML::Node web = YAML::Load(d.frontend_yaml("webui"));
  EXPECT_EQ(web["url"].as<std::string>(), "http://10.0.0.2:23333");
  EXPECT_EQ(web["server_name"].as<std::string>(), "0.0.0.0");
  EXPECT_EQ(web["server_port"].as<int>(), 7860);
}

TEST(ConfigParse, ScalarSpellings) {
  Deployment d = Deployment::parse(
      "engine: {enable_prefix_caching: On, session_len: +8192, cache_max_entry_count: 5e-1}\n"
      "generation: {ignore_eos: TRUE, skip_special_tokens: no, temperature: .5, seed: 0}\n",
      "s.yaml", "");
  EXPECT_TRUE(d.engine().enable_prefix_caching);
  EXPECT_EQ(d.engine().session_len, 8192);
  EXPECT_DOUBLE_EQ(d.engine().cache_max_entry_count, 0.5);
  EXPECT_TRUE(d.generation().ignore_eos);
  EXPECT_FALSE(d.generation().skip_special_tokens);
  EXPECT_DOUBLE_EQ(d.generation().temperature, 0.5);
  EXPECT_EQ(d.generation().seed, std::optional<uint64_t>(0));
  // An empty seed means "random", like leaving it out.
  EXPECT_FALSE(Deployment::parse("generation: {seed: ~}", "s.yaml", "").generation().seed.has_value());
}

TEST(ConfigParse, EveryLogLevel) {
  const std::pair<const char*, lmrt_log_level> levels[] = {
      {"trace", LMRT_LOG_TRACE}, {"debug", LMRT_LOG_DEBUG}, {"info", LMRT_LOG_INFO},   {"warning", LMRT_LOG_WARN},
      {"error", LMRT_LOG_ERROR}, {"critical", LMRT_LOG_CRITICAL}, {"off", LMRT_LOG_OFF}};
  for (auto [name, level] : levels)
    EXPECT_EQ(Deployment::parse(std::string("log_level: ") + name, "l.yaml", "").log_level(), level) << name;
}

TEST(ConfigParse, RelativePathsResolveAgainstTheConfigFolder) {
  Deployment d = Deployment::parse("model: {path: ../models/llama}\nplugins: {search_paths: [plugins, /abs/p, ./x/../y]}",
                                   "/etc/lmrt/deploy.yaml", "/etc/lmrt");
  EXPECT_EQ(d.model().path, fs::path("/etc/models/llama"));
  EXPECT_EQ(d.model().name, "llama");
  EXPECT_EQ(d.plugins().search_paths,
            (std::vector<fs::path>{"/etc/lmrt/plugins", "/abs/p", "/etc/lmrt/y"}));
  EXPECT_EQ(Deployment::parse("model: {path: /m/qwen2/}", "x", "/etc").model().name, "qwen2");
  EXPECT_EQ(Deployment::parse("model: {path: m/a, name: served}", "x", "/etc").model().name, "served");
}

TEST(ConfigParse, LoadFileResolvesAgainstTheFilesFolder) {
  lmrt::test::ScratchDir dir;
  fs::create_directories(dir.path() / "models" / "tiny");
  auto file = dir.write("configs/deploy.yaml", "model:\n  path: ../models/tiny\n");
  Deployment d = Deployment::load_file(file);
  EXPECT_EQ(d.origin(), file.string());
  EXPECT_EQ(d.base_dir(), file.parent_path());
  EXPECT_EQ(d.model().name, "tiny");
  EXPECT_TRUE(fs::equivalent(d.model().path, dir.path() / "models" / "tiny"));
  EXPECT_TRUE(fs::equivalent(d.require_model_path(), dir.path() / "models" / "tiny"));
}

TEST(ConfigParse, UnknownFrontendsAreKeptUnvalidated) {
  Deployment d = Deployment::parse(
      "frontends:\n  my-grpc:\n    port: 50051\n    tls: {cert: a.pem}\n  http-server:\n  bare-plugin:\n", "f.yaml", "");
  EXPECT_EQ(d.frontend_names(), (std::vector<std::string>{"my-grpc", "http-server", "bare-plugin"}));
  YAML::Node grpc = YAML::Load(d.frontend_yaml("my-grpc"));
  EXPECT_EQ(grpc["port"].as<int>(), 50051);
  EXPECT_EQ(grpc["tls"]["cert"].as<std::string>(), "a.pem");
  EXPECT_TRUE(YAML::Load(d.frontend_yaml("bare-plugin")).IsMap());
  EXPECT_EQ(d.frontend_yaml("absent-plugin"), "");
  EXPECT_EQ(d.section_yaml("frontends.absent-plugin"), "");
  // A built-in frontend's section has its defaults even when written empty or absent.
  EXPECT_EQ(YAML::Load(d.frontend_yaml("http-server"))["server_port"].as<int>(), 23333);
  EXPECT_EQ(YAML::Load(d.frontend_yaml("webui"))["server_port"].as<int>(), 6006);
  EXPECT_FALSE(d.has_frontend("webui"));
  EXPECT_TRUE(d.has_frontend("http-server"));
}
