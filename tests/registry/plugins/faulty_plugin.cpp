// Test-only plugins that fail in one specific way each; the variant is chosen by
// FAULT at compile time (see ../CMakeLists.txt).
#include <cstring>

#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"

namespace {
lmrt::plugin::Host g_host;
const lmrt_engine_api kApi = {sizeof(lmrt_engine_api), 0, nullptr, nullptr, nullptr, nullptr, nullptr};
}  // namespace

#define FAULT_WRONG_MAJOR 1
#define FAULT_NEWER_MINOR 2
#define FAULT_INIT_FAILS 3
#define FAULT_NO_API 4
#define FAULT_NO_SYMBOL 5
#define FAULT_UNKNOWN_KIND 6

#if FAULT != FAULT_NO_SYMBOL
LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, "faulty");
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_ENGINE;
    d->name = FAULT_NAME;
    d->version = "0.0.1";
    d->api = &kApi;
#if FAULT == FAULT_WRONG_MAJOR
    d->abi_version = LMRT_MAKE_VERSION(LMRT_ABI_VERSION_MAJOR + 1, 0);
#elif FAULT == FAULT_NEWER_MINOR
    d->abi_version = LMRT_MAKE_VERSION(LMRT_ABI_VERSION_MAJOR, LMRT_ABI_VERSION_MINOR + 7);
#elif FAULT == FAULT_INIT_FAILS
    throw lmrt::plugin::Error(LMRT_STATUS_DEVICE_ERROR, "simulated init failure: no device");
#elif FAULT == FAULT_NO_API
    d->api = nullptr;
#elif FAULT == FAULT_UNKNOWN_KIND
    d->kind = 99;
#endif
  });
}
#else
extern "C" LMRT_EXPORT int not_the_bootstrap_symbol() { return 0; }
#endif
