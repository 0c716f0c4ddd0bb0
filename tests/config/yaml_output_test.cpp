// The effective config as YAML: to_yaml() round trips, and section_yaml() gives
// plugins their section with defaults filled. Read back with yaml-cpp directly,
// independent of the Deployment parser.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "config_test_util.hpp"
#include "lmrt/core/config.hpp"

namespace fs = std::filesystem;
using lmrt::Deployment;

TEST(ConfigYaml, ToYamlListsEveryKeyWithItsDefault) {
  YAML::Node y = YAML::Load(Deployment::defaults().to_yaml());
  EXPECT_EQ(y["model"]["format"].as<std::string>(), "hf");
  EXPECT_EQ(y["model"]["path"].as<std::string>(), "");
  EXPECT_EQ(y["engine"]["max_batch_size"].as<int>(), 128);
  EXPECT_DOUBLE_EQ(y["engine"]["cache_max_entry_count"].as<double>(), 0.8);
  EXPECT_EQ(y["engine"]["cache_block_seq_len"].as<int>(), 64);
  EXPECT_FALSE(y["engine"]["enable_prefix_caching"].as<bool>());
  EXPECT_EQ(y["generation"]["max_new_tokens"].as<int>(), 512);
  EXPECT_TRUE(y["generation"]["skip_special_tokens"].as<bool>());
  EXPECT_FALSE(y["generation"]["seed"].IsDefined());  // absent = random
  EXPECT_TRUE(y["generation"]["stop_words"].IsSequence());
  EXPECT_TRUE(y["frontends"].IsMap());
  EXPECT_EQ(y["log_level"].as<std::string>(), "info");
  // Every schema key appears in its section.
  for (const auto& info : Deployment::schema()) {
    if (info.key.starts_with("frontends.") || info.key == "generation.seed") continue;
    YAML::Node n = YAML::Clone(y);
    size_t start = 0;
    for (size_t dot; (dot = info.key.find('.', start)) != std::string::npos; start = dot + 1)
      n = n[info.key.substr(start, dot - start)];
    EXPECT_TRUE(n[info.key.substr(start)].IsDefined()) << info.key;
  }
}

TEST(ConfigYaml, RoundTrip) {
  const char* text = R"(
model: {path: /m/llama, format: awq, chat_template: llama3, rope_scaling_factor: 0.1}
engine: {backend: cpu, session_len: 100000, cache_max_entry_count: 0.3, enable_prefix_caching: on, quant_policy: 4}
generation:
  temperature: 1e-7
  top_p: 0.9
  seed: 7
  stop_words: ["yes", "", "~", "a: b", "é\n", "'q'"]
plugins: {search_paths: [p1]}
frontends:
  cli-chat: {system_prompt: "line 1\nline 2: \"quoted\" # not a comment"}
  third-party: {a: [1, 2], b: {c: d}}
  http-server: {api_keys: [k], allow_origins: []}
log_level: warning
)";
  Deployment a = Deployment::parse(text, "a.yaml", "/base");
  Deployment b = Deployment::parse(a.to_yaml(), "b.yaml", "/elsewhere");
  EXPECT_EQ(a, b) << a.to_yaml() << "\n---\n" << b.to_yaml();
  EXPECT_EQ(a.model(), b.model());
  EXPECT_EQ(a.engine(), b.engine());
  EXPECT_EQ(a.generation(), b.generation());
  EXPECT_EQ(a.plugins(), b.plugins());
  EXPECT_EQ(a.frontend_names(), b.frontend_names());
  EXPECT_EQ(b.generation().stop_words, (std::vector<std::string>{"yes", "", "~", "a: b", "é\n", "'q'"}));
  EXPECT_EQ(YAML::Load(b.frontend_yaml("cli-chat"))["system_prompt"].as<std::string>(),
            "line 1\nline 2: \"quoted\" # not a comment");
  EXPECT_EQ(YAML::Load(b.frontend_yaml("third-party"))["b"]["c"].as<std::string>(), "d");
  EXPECT_DOUBLE_EQ(b.generation().temperature, 1e-7);
  // Defaults round trip too, and equality sees a change.
  EXPECT_EQ(Deployment::parse(Deployment::defaults().to_yaml(), "d", ""), Deployment::defaults());
  b.set("engine.tp", "2");
  EXPECT_FALSE(a == b);
}

TEST(ConfigYaml, PathsComeOutAbsolute) {
  Deployment d = Deployment::defaults();
  d.set("model.path", "rel/model");
  d.set_list("plugins.search_paths", {"p"});
  YAML::Node y = YAML::Load(d.to_yaml());
  EXPECT_EQ(y["model"]["path"].as<std::string>(), (fs::current_path() / "rel/model").string());
  EXPECT_EQ(y["plugins"]["search_paths"][0].as<std::string>(), (fs::current_path() / "p").string());
  // Read back from anywhere, it is the same deployment.
  EXPECT_EQ(Deployment::parse(d.to_yaml(), "saved.yaml", "/somewhere/else").model().path,
            fs::current_path() / "rel/model");
}

TEST(ConfigYaml, SectionsForPlugins) {
  Deployment d = Deployment::parse("engine: {backend: cpu, num_threads: 4}\nmodel: {path: /m/tiny}\n", "d", "");
  YAML::Node engine = YAML::Load(d.section_yaml("engine"));
  EXPECT_EQ(engine["backend"].as<std::string>(), "cpu");
  EXPECT_EQ(engine["num_threads"].as<int>(), 4);
  EXPECT_EQ(engine["max_batch_size"].as<int>(), 128);
  EXPECT_EQ(engine.size(), 13u);
  YAML::Node model = YAML::Load(d.section_yaml("model"));
  EXPECT_EQ(model["name"].as<std::string>(), "tiny");  // the derived served name
  EXPECT_EQ(YAML::Load(d.section_yaml("frontends.http-server"))["server_name"].as<std::string>(), "127.0.0.1");
  EXPECT_EQ(YAML::Load(d.section_yaml("engine.num_threads")).as<int>(), 4);
  EXPECT_TRUE(YAML::Load(d.section_yaml("frontends")).IsMap());
  EXPECT_EQ(d.section_yaml(""), d.to_yaml());
  try {
    d.section_yaml("engine.nope");
    ADD_FAILURE() << "expected NOT_FOUND";
  } catch (const lmrt::Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_NOT_FOUND);
    EXPECT_NE(std::string(e.what()).find("'engine.nope'"), std::string::npos) << e.what();
  }
}

TEST(ConfigYaml, SchemaDescribesEveryKey) {
  auto schema = Deployment::schema();
  ASSERT_FALSE(schema.empty());
  for (const auto& k : schema) {
    EXPECT_FALSE(k.type.empty()) << k.key;
    EXPECT_FALSE(k.help.empty()) << k.key;
    if (k.key != "generation.seed") {
      EXPECT_FALSE(k.default_value.empty()) << k.key;
    }
  }
  auto find = [&](const std::string& key) {
    for (const auto& k : schema)
      if (k.key == key) return k;
    return lmrt::ConfigKeyInfo{};
  };
  EXPECT_EQ(find("engine.max_batch_size").range, "1..4096");
  EXPECT_EQ(find("engine.max_batch_size").default_value, "128");
  EXPECT_EQ(find("frontends.http-server.server_name").default_value, "\"127.0.0.1\"");
  EXPECT_EQ(find("engine.cache_max_entry_count").default_value, "0.8");
  EXPECT_EQ(find("engine.session_len").lmdeploy_flag, "--session-len");
}
