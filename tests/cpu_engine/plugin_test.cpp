// The bootstrap, the descriptor and the probe.
#include <dlfcn.h>

#include "test_util.hpp"

namespace cpu_test {
namespace {

lmrt_capabilities probe(const std::string& yaml, Result* r) {
  lmrt_capabilities caps{};
  caps.struct_size = sizeof caps;
  *r = take(cpu_plugin().descriptor.probe(test_host(), lmrt_str{yaml.data(), yaml.size()}, &caps));
  return caps;
}

TEST(Plugin, DescriptorNamesTheCpuEngine) {
  SKIP_WITHOUT_PLUGIN();
  const lmrt_plugin_descriptor& d = cpu_plugin().descriptor;
  EXPECT_STREQ(d.name, "cpu");
  EXPECT_STREQ(d.version, "0.1.0");
  EXPECT_EQ(d.kind, uint32_t(LMRT_PLUGIN_ENGINE));
  EXPECT_EQ(d.abi_version, LMRT_ABI_VERSION);
  ASSERT_NE(d.api, nullptr);
  ASSERT_NE(d.probe, nullptr);
  const auto* api = static_cast<const lmrt_engine_api*>(d.api);
  EXPECT_EQ(api->struct_size, sizeof(lmrt_engine_api));
  EXPECT_TRUE(api->create && api->capacity && api->allocate_cache && api->step && api->destroy);
}

TEST(Plugin, OnlyTheBootstrapSymbolIsExported) {
  SKIP_WITHOUT_PLUGIN();
  void* handle = dlopen((std::string(LMRT_PLUGIN_BUILD_DIR) + "/liblmrt-cpu.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr);
  EXPECT_NE(dlsym(handle, "lmrt_plugin_init"), nullptr);
  EXPECT_EQ(dlsym(handle, "_ZN4lmrt3cpu3dotEPKfS2_m"), nullptr) << "internal symbols stay hidden";
}

TEST(Plugin, RejectsAnotherAbiMajor) {
  SKIP_WITHOUT_PLUGIN();
  lmrt_plugin_descriptor d{};
  d.struct_size = sizeof d;
  const Result r = take(cpu_plugin().init(test_host(), LMRT_MAKE_VERSION(LMRT_ABI_VERSION_MAJOR + 1, 0), &d));
  EXPECT_EQ(r.code, LMRT_STATUS_ABI_MISMATCH);
  lmrt_plugin_descriptor small{};
  small.struct_size = 8;
  EXPECT_EQ(take(cpu_plugin().init(test_host(), LMRT_ABI_VERSION, &small)).code, LMRT_STATUS_ABI_MISMATCH);
}

TEST(Plugin, ProbeScoresHfAndRefusesOtherFormats) {
  SKIP_WITHOUT_PLUGIN();
  Result r;
  lmrt_capabilities caps = probe("num_threads: 3\nmodel: {format: hf, dtype: float16}\n", &r);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(caps.score, 10u);
  EXPECT_STREQ(caps.devices, "cpu (3 threads)");
  EXPECT_STREQ(caps.dtypes, "float32");
  EXPECT_STREQ(caps.formats, "hf");

  caps = probe("", &r);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(caps.score, 10u);

  caps = probe("model:\n  format: awq\n", &r);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(caps.score, 0u);
  EXPECT_NE(std::string(caps.reason).find("awq"), std::string::npos) << caps.reason;

  probe("model: [unclosed", &r);
  EXPECT_EQ(r.code, LMRT_STATUS_CONFIG_ERROR) << r.message;
}

}  // namespace
}  // namespace cpu_test
