// The plugin registry: discovery, loading, ABI negotiation, selection, and a clear
// error for every way a plugin can be wrong.
#include "lmrt/core/plugin_registry.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lmrt/core/error.hpp"
#include "lmrt/core/status.hpp"
#include "lmrt/engine.h"

namespace fs = std::filesystem;
using lmrt::PluginRegistry;

namespace {

fs::path plugin_dir(const std::string& variant) { return fs::path(LMRT_TEST_PLUGIN_ROOT) / variant; }

std::string load_error(const fs::path& file) {
  PluginRegistry registry({}, false);
  try {
    registry.load_file(file);
  } catch (const lmrt::Error& e) {
    return e.what();
  }
  return "";
}

fs::path faulty(const std::string& variant) { return plugin_dir(variant) / ("liblmrt-faulty-" + variant + ".so"); }

}  // namespace

TEST(Registry, LoadsAGoodPluginAndReadsItsDescriptor) {
  PluginRegistry registry({plugin_dir("good")}, false);
  const auto& p = registry.find("test-echo", LMRT_PLUGIN_ENGINE);
  EXPECT_EQ(p.name(), "test-echo");
  EXPECT_STREQ(p.descriptor.version, "1.2.3");
  EXPECT_EQ(p.kind(), LMRT_PLUGIN_ENGINE);
  EXPECT_EQ(p.descriptor.abi_version, LMRT_ABI_VERSION);
  ASSERT_NE(p.api<lmrt_engine_api>(), nullptr);
  EXPECT_EQ(p.api<lmrt_engine_api>()->struct_size, sizeof(lmrt_engine_api));
  // Loading twice gives the same module.
  EXPECT_EQ(&registry.find("test-echo", LMRT_PLUGIN_ENGINE), &p);
}

TEST(Registry, DiscoversEveryPluginInTheSearchPaths) {
  PluginRegistry registry({plugin_dir("good")}, false);
  auto files = registry.discover();
  std::vector<std::string> names;
  for (auto& f : files) names.push_back(f.filename().string());
  EXPECT_NE(std::find(names.begin(), names.end(), "liblmrt-test-echo.so"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "liblmrt-test-hello.so"), names.end());
  EXPECT_EQ(registry.search_paths().front(), plugin_dir("good").lexically_normal());
}

TEST(Registry, HonoursLmrtPluginPath) {
  ::setenv("LMRT_PLUGIN_PATH", (plugin_dir("wrong-major").string() + ":" + plugin_dir("good").string()).c_str(), 1);
  PluginRegistry registry({}, false);
  ::unsetenv("LMRT_PLUGIN_PATH");
  EXPECT_NO_THROW(registry.find("test-hello", LMRT_PLUGIN_FRONTEND));
  ASSERT_GE(registry.search_paths().size(), 2u);
  EXPECT_EQ(registry.search_paths()[0], plugin_dir("wrong-major").lexically_normal());
}

TEST(Registry, NotFoundSaysWhereItLookedAndWhatItFound) {
  PluginRegistry registry({plugin_dir("good")}, false);
  try {
    registry.find("no-such-engine", LMRT_PLUGIN_ENGINE);
    FAIL() << "expected an error";
  } catch (const lmrt::Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), LMRT_STATUS_NOT_FOUND);
    EXPECT_NE(msg.find("'no-such-engine' not found"), std::string::npos) << msg;
    EXPECT_NE(msg.find(plugin_dir("good").lexically_normal().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("test-echo (engine)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("test-hello (frontend)"), std::string::npos) << msg;
  }
}

TEST(Registry, WrongKindIsNotFound) {
  PluginRegistry registry({plugin_dir("good")}, false);
  EXPECT_THROW(registry.find("test-echo", LMRT_PLUGIN_FRONTEND), lmrt::Error);
}

TEST(Registry, AbiMajorMismatchNamesBothVersions) {
  std::string msg = load_error(faulty("wrong-major"));
  EXPECT_NE(msg.find("built for ABI 2.0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("speaks ABI 1." + std::to_string(LMRT_ABI_VERSION_MINOR)), std::string::npos) << msg;
}

TEST(Registry, NewerMinorIsRejected) {
  std::string msg = load_error(faulty("newer-minor"));
  EXPECT_NE(msg.find("needs ABI 1." + std::to_string(LMRT_ABI_VERSION_MINOR + 7)), std::string::npos) << msg;
}

TEST(Registry, MissingBootstrapSymbol) {
  std::string msg = load_error(faulty("no-symbol"));
  EXPECT_NE(msg.find("does not export the bootstrap symbol lmrt_plugin_init"), std::string::npos) << msg;
}

TEST(Registry, FailedInitCarriesThePluginsMessage) {
  std::string msg = load_error(faulty("init-fails"));
  EXPECT_NE(msg.find("failed to initialise"), std::string::npos) << msg;
  EXPECT_NE(msg.find("simulated init failure: no device"), std::string::npos) << msg;
}

TEST(Registry, DescriptorWithoutTableIsRejected) {
  std::string msg = load_error(faulty("no-api"));
  EXPECT_NE(msg.find("gave no function table"), std::string::npos) << msg;
}

TEST(Registry, UnknownKindIsRejected) {
  std::string msg = load_error(faulty("unknown-kind"));
  EXPECT_NE(msg.find("kind 99"), std::string::npos) << msg;
}

TEST(Registry, NotALibrary) {
  fs::path dir = fs::temp_directory_path() / "lmrt-registry-test";
  fs::create_directories(dir);
  fs::path bogus = dir / "liblmrt-bogus.so";
  std::ofstream(bogus) << "this is not an ELF file";
  std::string msg = load_error(bogus);
  EXPECT_NE(msg.find("cannot load plugin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("liblmrt-bogus.so"), std::string::npos) << msg;
  EXPECT_NE(load_error(dir / "liblmrt-absent.so").find("does not exist"), std::string::npos);
  // A broken file among good ones does not stop the others from loading.
  PluginRegistry registry({dir, plugin_dir("good")}, false);
  std::vector<PluginRegistry::Failure> failures;
  auto loaded = registry.load_all(&failures);
  EXPECT_EQ(loaded.size(), 2u);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].path.filename(), "liblmrt-bogus.so");
  fs::remove_all(dir);
}

TEST(Registry, SelectsEngineByNameOrScore) {
  PluginRegistry registry({plugin_dir("good"), plugin_dir("init-fails")}, false);
  EXPECT_EQ(registry.select_engine("auto", "").name(), "test-echo");
  EXPECT_EQ(registry.select_engine("test-echo", "").name(), "test-echo");
  EXPECT_THROW(registry.select_engine("nope", ""), lmrt::Error);
}

TEST(Registry, NoUsableEngineIsAClearError) {
  PluginRegistry registry({plugin_dir("wrong-major")}, false);
  try {
    registry.select_engine("auto", "");
    FAIL();
  } catch (const lmrt::Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("no usable engine plugin"), std::string::npos) << msg;
    EXPECT_NE(msg.find("built for ABI 2.0"), std::string::npos) << msg;
  }
}

TEST(HostApi, StatusesConfigAndLookup) {
  PluginRegistry registry({plugin_dir("good")}, false);
  const lmrt_host_api* host = registry.host_api();
  ASSERT_EQ(host->struct_size, sizeof(lmrt_host_api));
  EXPECT_EQ(host->abi_version, LMRT_ABI_VERSION);

  lmrt_status* st = host->status_create(LMRT_STATUS_CAPACITY, lmrt_str{"full", 4});
  EXPECT_EQ(host->status_code(st), LMRT_STATUS_CAPACITY);
  EXPECT_STREQ(host->status_message(st), "full");
  host->status_release(st);
  EXPECT_EQ(host->status_create(LMRT_STATUS_OK, lmrt_str{"", 0}), nullptr);
  EXPECT_EQ(host->status_code(nullptr), LMRT_STATUS_OK);

  std::string got;
  auto sink = [](void* user, lmrt_str text) { static_cast<std::string*>(user)->assign(text.data, text.size); };
  lmrt_status* none = host->config_section(host->host_context, "engine", sink, &got);
  EXPECT_EQ(host->status_code(none), LMRT_STATUS_NOT_FOUND);
  host->status_release(none);
  registry.set_config_provider([](const std::string& path) -> std::optional<std::string> {
    return path == "engine" ? "backend: cpu\n" : "";
  });
  EXPECT_EQ(host->config_section(host->host_context, "engine", sink, &got), nullptr);
  EXPECT_EQ(got, "backend: cpu\n");

  const lmrt_plugin_descriptor* d = nullptr;
  EXPECT_EQ(host->find_plugin(host->host_context, "test-hello", LMRT_PLUGIN_FRONTEND, &d), nullptr);
  ASSERT_NE(d, nullptr);
  EXPECT_STREQ(d->name, "test-hello");
  lmrt_status* missing = host->find_plugin(host->host_context, "absent", LMRT_PLUGIN_ENGINE, &d);
  EXPECT_EQ(host->status_code(missing), LMRT_STATUS_NOT_FOUND);
  host->status_release(missing);
}

TEST(HostApi, ProbeReportsCapabilities) {
  PluginRegistry registry({plugin_dir("good")}, false);
  auto pr = registry.probe(registry.find("test-echo", LMRT_PLUGIN_ENGINE), "");
  EXPECT_EQ(pr.caps.score, 5u);
  EXPECT_STREQ(pr.caps.devices, "none (test)");
  EXPECT_STREQ(pr.caps.formats, "hf");
}
