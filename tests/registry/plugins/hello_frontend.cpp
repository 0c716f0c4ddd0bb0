// Test-only frontend "test-hello": prints its config section and, when it has a
// runtime, the model info, so CLI tests can see what the host handed it.
#include <cstdio>
#include <string>

#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"

namespace {
lmrt::plugin::Host g_host;

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    std::string section = g_host.config_section("frontends.test-hello");
    std::printf("test-hello: config=[%.*s] runtime=%s\n", int(ctx->config_yaml.size), ctx->config_yaml.data,
                ctx->runtime ? "yes" : "no");
    std::printf("test-hello: host section=[%s]\n", section.c_str());
    std::fflush(stdout);
  });
}

const lmrt_frontend_api kApi = {sizeof(lmrt_frontend_api), 0, run};
}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, "test-hello");
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_FRONTEND;
    d->name = "test-hello";
    d->version = "0.1.0";
    d->description = "test frontend";
    d->api = &kApi;
  });
}
