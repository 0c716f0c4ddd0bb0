// The smallest useful frontend plugin: greets with the text its config section gives.
//   frontends:
//     hello:
//       greeting: "hello from a plugin"
#include <cstdio>
#include <string>

#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"

namespace {
lmrt::plugin::Host g_host;

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    std::string section(ctx->config_yaml.data, ctx->config_yaml.size);
    std::printf("hello plugin, ABI %u.%u, my section:\n%s\n", LMRT_ABI_VERSION_MAJOR, LMRT_ABI_VERSION_MINOR,
                section.c_str());
  });
}

const lmrt_frontend_api kApi = {sizeof(lmrt_frontend_api), /*needs_runtime=*/0, run};
}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t host_abi,
                                                 lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, "hello");
    if (LMRT_VERSION_MAJOR(host_abi) != LMRT_ABI_VERSION_MAJOR)
      throw lmrt::plugin::Error(LMRT_STATUS_ABI_MISMATCH, "hello: host ABI major differs");
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_FRONTEND;
    d->name = "hello";
    d->version = "1.0.0";
    d->description = "example out-of-tree frontend";
    d->api = &kApi;
  });
}
