// Flag overrides: set()/set_list() win over the file, are validated by the same
// schema, and their errors name the flag.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "config_test_util.hpp"
#include "lmrt/core/config.hpp"

namespace fs = std::filesystem;
using lmrt::Deployment;
using lmrt::test::config_error_of;

TEST(ConfigOverrides, FlagsWinOverTheFile) {
  lmrt::test::ScratchDir dir;
  auto file = dir.write("deploy.yaml",
                        "engine:\n  session_len: 2048\n  max_batch_size: 8\ngeneration:\n  stop_words: [a]\n"
                        "frontends:\n  http-server:\n    server_port: 8000\n");
  Deployment d = Deployment::load_file(file);
  d.set("engine.session_len", "4096", "--session-len");
  d.set("frontends.http-server.server_port", "9000", "--server-port");
  d.set_list("generation.stop_words", {"x", "y"}, "--stop-words");
  d.set("log_level", "error", "--log-level");
  EXPECT_EQ(d.engine().session_len, 4096);
  EXPECT_EQ(d.engine().max_batch_size, 8);  // untouched keys keep the file's value
  EXPECT_EQ(d.generation().stop_words, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(YAML::Load(d.frontend_yaml("http-server"))["server_port"].as<int>(), 9000);
  EXPECT_EQ(d.log_level(), LMRT_LOG_ERROR);
  // The effective config shows the override.
  EXPECT_EQ(YAML::Load(d.to_yaml())["engine"]["session_len"].as<int>(), 4096);
}

TEST(ConfigOverrides, EveryKindOfValue) {
  Deployment d = Deployment::defaults();
  d.set("engine.enable_prefix_caching", "true");
  d.set("engine.cache_max_entry_count", "0.5");
  d.set("engine.dtype", "float16");
  d.set("generation.seed", "42");
  d.set("generation.stop_words", "</s>");  // a single value becomes a one-element list
  d.set_list("engine.tp", {"2"});           // a one-element list sets a scalar key
  EXPECT_TRUE(d.engine().enable_prefix_caching);
  EXPECT_DOUBLE_EQ(d.engine().cache_max_entry_count, 0.5);
  EXPECT_EQ(d.engine().dtype, "float16");
  EXPECT_EQ(d.generation().seed, std::optional<uint64_t>(42));
  EXPECT_EQ(d.generation().stop_words, std::vector<std::string>{"</s>"});
  EXPECT_EQ(d.engine().tp, 2);
}

TEST(ConfigOverrides, ErrorsNameTheFlag) {
  Deployment d = Deployment::defaults();
  EXPECT_EQ(config_error_of([&] { d.set("engine.session_len", "abc", "--session-len"); }),
            "--session-len: engine.session_len: expected an integer, got 'abc'");
  EXPECT_EQ(config_error_of([&] { d.set("engine.cache_max_entry_count", "2", "--cache-max-entry-count"); }),
            "--cache-max-entry-count: engine.cache_max_entry_count: 2 is out of range; expected (0.0, 1.0]");
  EXPECT_EQ(config_error_of([&] { d.set("engine.quant_policy", "3", "--quant-policy"); }),
            "--quant-policy: engine.quant_policy: 3 is out of range; expected one of 0, 4, 8");
  EXPECT_EQ(config_error_of([&] { d.set("model.format", "gguf", "--model-format"); }),
            "--model-format: model.format: 'gguf' is not a valid choice; expected one of hf, awq");
  EXPECT_EQ(config_error_of([&] { d.set("engine.sesion_len", "1", "--x"); }),
            "--x: engine.sesion_len: unknown key (did you mean 'engine.session_len'?)");
  EXPECT_EQ(config_error_of([&] { d.set("log_levle", "info", "--x"); }),
            "--x: log_levle: unknown key (did you mean 'log_level'?)");
  EXPECT_EQ(config_error_of([&] { d.set("engin.tp", "1", "--tp"); }),
            "--tp: engin.tp: unknown section 'engin' (did you mean 'engine'?)");
  EXPECT_EQ(config_error_of([&] { d.set("frontends.http-server.port", "1", "--port"); }),
            "--port: frontends.http-server.port: unknown key (did you mean 'frontends.http-server.server_port'?)");
  EXPECT_EQ(config_error_of([&] { d.set_list("engine.tp", {"1", "2"}, "--tp"); }),
            "--tp: engine.tp: expected one value (an integer), got 2");
  EXPECT_EQ(config_error_of([&] { d.set("frontends.my-plugin", "1", "--fe"); }),
            "--fe: frontends.my-plugin: expected frontends.<frontend>.<key>");
  EXPECT_EQ(config_error_of([&] { d.set("frontends.http-server", "1", "--fe"); }),
            "--fe: frontends.http-server: expected frontends.<frontend>.<key>");
  EXPECT_EQ(config_error_of([&] { d.set("engine", "1", "--e"); }),
            "--e: engine: is a section, not a key; set one of its keys, e.g. engine.backend");
  // A failed override leaves the value as it was.
  EXPECT_EQ(d.engine().session_len, 0);
}

TEST(ConfigOverrides, FlagPathsStayRelativeToTheCurrentDirectory) {
  Deployment d = Deployment::parse("model: {path: m1}", "/etc/lmrt/d.yaml", "/etc/lmrt");
  EXPECT_EQ(d.model().path, fs::path("/etc/lmrt/m1"));
  d.set("model.path", "models/m2", "model_path");
  EXPECT_EQ(d.model().path, fs::path("models/m2"));
  EXPECT_EQ(d.model().name, "m2");
}

TEST(ConfigOverrides, FrontendKeysAddTheFrontend) {
  Deployment d = Deployment::defaults();
  d.set("frontends.http-server.server_port", "8080", "--server-port");
  d.set("frontends.my-plugin.port", "50051", "--my-port");
  d.set_list("frontends.my-plugin.hosts", {"a", "b"}, "--my-hosts");
  d.add_frontend("cli-chat");
  d.add_frontend("cli-chat");  // once only
  EXPECT_EQ(d.frontend_names(), (std::vector<std::string>{"http-server", "my-plugin", "cli-chat"}));
  YAML::Node mine = YAML::Load(d.frontend_yaml("my-plugin"));
  EXPECT_EQ(mine["port"].as<std::string>(), "50051");
  EXPECT_EQ(mine["hosts"].as<std::vector<std::string>>(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(YAML::Load(d.frontend_yaml("cli-chat"))["system_prompt"].as<std::string>(), "");
}
