// turbomind-cuda-fp16, ABI 1.0. This build answers probes (devices, formats)
// honestly; the engine itself (weights on the GPU, paged attention, sampling)
// is not implemented yet, so its score is 0 and create says so.
#include <string>

#include "device_info.hpp"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"

namespace {
lmrt::plugin::Host g_host;
constexpr const char* kName = "turbomind-cuda-fp16";

lmrt_status* probe(const lmrt_host_api*, lmrt_str, lmrt_capabilities* caps) {
  return g_host.guard([&] {
    auto q = lmrt::cuda::query_devices();
    std::string devices;
    for (const auto& d : q.devices) {
      if (!devices.empty()) devices += "; ";
      devices += "cuda:" + std::to_string(d.index) + " " + d.name + " (sm_" + std::to_string(d.sm_major) +
                 std::to_string(d.sm_minor) + ", " + std::to_string(d.total_bytes >> 20) + " MiB, driver " +
                 std::to_string(q.driver_version) + ", runtime " + std::to_string(q.runtime_version) + ")";
    }
    lmrt::plugin::copy_text(caps->devices, devices.empty() ? "no CUDA device (" + q.error + ")" : devices);
    lmrt::plugin::copy_text(caps->dtypes, "float16,bfloat16");
    lmrt::plugin::copy_text(caps->formats, "hf");
    caps->score = 0;
    lmrt::plugin::copy_text(caps->reason, q.devices.empty() ? "no CUDA device: " + q.error
                                                            : std::string("the GPU engine is not implemented in this build yet"));
  });
}

lmrt_status* create(const lmrt_host_api*, const lmrt_engine_create_params*, lmrt_engine**) {
  return g_host.status(LMRT_STATUS_UNSUPPORTED,
                       std::string(kName) + ": the GPU engine is not implemented in this build yet; use --backend cpu");
}
lmrt_status* not_created(...) { return g_host.status(LMRT_STATUS_INTERNAL, "no engine was created"); }
lmrt_status* capacity(lmrt_engine*, const lmrt_capacity_query*, lmrt_capacity*) { return not_created(); }
lmrt_status* allocate_cache(lmrt_engine*, const lmrt_cache_config*) { return not_created(); }
lmrt_status* step(lmrt_engine*, const lmrt_step_batch*, lmrt_token_logprobs*) { return not_created(); }
void destroy(lmrt_engine*) {}

const lmrt_engine_api kApi = {sizeof(lmrt_engine_api), 0, create, capacity, allocate_cache, step, destroy};
}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, kName);
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_ENGINE;
    d->name = kName;
    d->version = "0.0.1";
    d->description = "GPU engine (fp16/bf16, CUDA): device probe only in this build";
    d->api = &kApi;
    d->probe = probe;
  });
}
