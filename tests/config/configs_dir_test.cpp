// The shipped configs/*.yaml are valid, and docs/configuration.md documents every key.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config_test_util.hpp"
#include "lmrt/core/config.hpp"

namespace fs = std::filesystem;
using lmrt::Deployment;

namespace {
std::vector<fs::path> shipped_configs() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(LMRT_SOURCE_DIR) / "configs"))
    if (e.path().extension() == ".yaml") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST(ConfigsDir, EveryShippedConfigParses) {
  auto files = shipped_configs();
  for (const char* required : {"cpu-stories260k.yaml", "chat-internlm2.yaml", "api-server.yaml"})
    EXPECT_TRUE(fs::exists(fs::path(LMRT_SOURCE_DIR) / "configs" / required)) << required;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    Deployment d = Deployment::load_file(f);
    EXPECT_EQ(Deployment::parse(d.to_yaml(), "again", ""), d);
  }
}

TEST(ConfigsDir, ShippedConfigsPointAtRealModels) {
  if (!fs::exists(LMRT_TESTDATA_DIR)) GTEST_SKIP() << "test data not found at " << LMRT_TESTDATA_DIR;
  for (const auto& f : shipped_configs()) {
    SCOPED_TRACE(f.string());
    Deployment d = Deployment::load_file(f);
    if (d.model().path.empty()) continue;
    EXPECT_TRUE(fs::exists(d.model().path / "config.json")) << d.model().path;
  }
  auto cpu = Deployment::load_file(fs::path(LMRT_SOURCE_DIR) / "configs" / "cpu-stories260k.yaml");
  EXPECT_TRUE(fs::equivalent(cpu.model().path, fs::path(LMRT_TESTDATA_DIR) / "models" / "stories260k"));
  EXPECT_EQ(cpu.engine().backend, "cpu");
  auto chat = Deployment::load_file(fs::path(LMRT_SOURCE_DIR) / "configs" / "chat-internlm2.yaml");
  EXPECT_TRUE(fs::equivalent(chat.model().path, fs::path(LMRT_SOURCE_DIR) / "models" / "lmrt-chat-tiny"));
  EXPECT_TRUE(chat.has_frontend("cli-chat"));
  EXPECT_TRUE(cpu.has_frontend("cli-chat"));  // so that `lmrt run configs/cpu-stories260k.yaml` works
  auto api = Deployment::load_file(fs::path(LMRT_SOURCE_DIR) / "configs" / "api-server.yaml");
  EXPECT_TRUE(fs::equivalent(api.model().path, fs::path(LMRT_SOURCE_DIR) / "models" / "lmrt-chat-tiny"));
  ASSERT_TRUE(api.has_frontend("http-server"));
  YAML::Node http = YAML::Load(api.frontend_yaml("http-server"));
  EXPECT_EQ(http["server_name"].as<std::string>(), "127.0.0.1");
  EXPECT_EQ(http["server_port"].as<int>(), 23333);
}

TEST(ConfigsDir, DocsNameEveryKeyAndFlag) {
  std::ifstream in(fs::path(LMRT_SOURCE_DIR) / "docs" / "configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  for (const auto& k : Deployment::schema()) {
    std::string name = k.key.substr(k.key.rfind('.') + 1);
    EXPECT_NE(doc.find("`" + name + "`"), std::string::npos) << k.key << " is not documented";
    if (k.lmdeploy_flag.starts_with("--")) {
      EXPECT_NE(doc.find(k.lmdeploy_flag), std::string::npos) << k.lmdeploy_flag;
    }
  }
}
