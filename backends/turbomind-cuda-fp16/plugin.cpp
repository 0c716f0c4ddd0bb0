// turbomind-cuda-fp16, ABI 1.0: bootstrap, probe and the engine table. Every entry runs inside
// Host::guard so exceptions (CUDA errors included) become statuses.
#include <string>

#include "device_info.hpp"
#include "engine_config.hpp"
#include "gpu_engine.hpp"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"
#include "tensor_parallel_engine.hpp"

namespace {

using lmrt::plugin::Error;
using lmrt::tm::GpuEngine;
using lmrt::tm::TensorParallelEngine;

lmrt::plugin::Host g_host;
constexpr const char* kName = "turbomind-cuda-fp16";

lmrt::tm::Engine& engine_of(lmrt_engine* engine) {
  if (engine == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": engine is NULL");
  return *reinterpret_cast<lmrt::tm::Engine*>(engine);
}

lmrt_status* probe(const lmrt_host_api*, lmrt_str request_yaml, lmrt_capabilities* caps) {
  return g_host.guard([&] {
    if (caps == nullptr || caps->struct_size < sizeof(lmrt_capabilities))
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": probe: capabilities struct is NULL or too small");
    auto q = lmrt::cuda::query_devices();
    std::string devices;
    bool usable = false;
    for (const auto& d : q.devices) {
      if (!devices.empty()) devices += "; ";
      devices += "cuda:" + std::to_string(d.index) + " " + d.name + " (sm_" + std::to_string(d.sm_major) +
                 std::to_string(d.sm_minor) + ", " + std::to_string(d.total_bytes >> 20) + " MiB, driver " +
                 std::to_string(q.driver_version) + ", runtime " + std::to_string(q.runtime_version) + ")";
      usable = usable || d.sm_major >= 9;
    }
    lmrt::plugin::copy_text(caps->devices, devices.empty() ? "no CUDA device (" + q.error + ")" : devices);
    lmrt::plugin::copy_text(caps->dtypes, "float16,bfloat16");
    lmrt::plugin::copy_text(caps->formats, "hf");
    const std::string format = lmrt::tm::probe_model_format(lmrt::plugin::view(request_yaml));
    caps->score = 0;
    if (q.devices.empty()) {
      lmrt::plugin::copy_text(caps->reason, "no CUDA device: " + q.error);
    } else if (!usable) {
      lmrt::plugin::copy_text(caps->reason, "this build runs on sm_90 (Hopper) GPUs; none was found");
    } else if (format != "hf") {
      lmrt::plugin::copy_text(caps->reason, "model.format '" + format + "' is not supported (dense 'hf' weights only)");
    } else {
      caps->score = 100;
      lmrt::plugin::copy_text(caps->reason, "");
    }
  });
}

lmrt_status* create(const lmrt_host_api*, const lmrt_engine_create_params* params, lmrt_engine** out) {
  return g_host.guard([&] {
    if (params == nullptr || out == nullptr)
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": create: params or out is NULL");
    if (params->struct_size < sizeof(lmrt_engine_create_params))
      throw Error(LMRT_STATUS_ABI_MISMATCH, std::string(kName) + ": create: params.struct_size is too small");
    if (params->model == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": create: params.model is NULL");
    const auto config = lmrt::tm::parse_engine_config(lmrt::plugin::view(params->config_yaml));
    std::unique_ptr<lmrt::tm::Engine> engine;
    if (config.tp > 1)
      engine = std::make_unique<TensorParallelEngine>(g_host, config, *params->model);
    else
      engine = std::make_unique<GpuEngine>(g_host, config, *params->model);
    *out = reinterpret_cast<lmrt_engine*>(engine.release());
  });
}

lmrt_status* capacity(lmrt_engine* engine, const lmrt_capacity_query* query, lmrt_capacity* out) {
  return g_host.guard([&] {
    if (query == nullptr || out == nullptr)
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": capacity: query or out is NULL");
    engine_of(engine).capacity(*query, *out);
  });
}

lmrt_status* allocate_cache(lmrt_engine* engine, const lmrt_cache_config* config) {
  return g_host.guard([&] {
    if (config == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": allocate_cache: config is NULL");
    engine_of(engine).allocate_cache(*config);
  });
}

lmrt_status* step(lmrt_engine* engine, const lmrt_step_batch* batch, lmrt_token_logprobs* outputs) {
  return g_host.guard([&] {
    if (batch == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(kName) + ": step: batch is NULL");
    engine_of(engine).step(*batch, outputs);
  });
}

void destroy(lmrt_engine* engine) { delete reinterpret_cast<lmrt::tm::Engine*>(engine); }

const lmrt_engine_api kApi = {sizeof(lmrt_engine_api), 0, create, capacity, allocate_cache, step, destroy};

}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t host_abi_version,
                                                 lmrt_plugin_descriptor* d) {
  if (host == nullptr) return nullptr;
  return g_host.guard([&] {
    g_host.attach(host, kName);
    if (LMRT_VERSION_MAJOR(host_abi_version) != LMRT_ABI_VERSION_MAJOR || host_abi_version < LMRT_ABI_VERSION)
      throw Error(LMRT_STATUS_ABI_MISMATCH, std::string(kName) + ": built for ABI " +
                                                std::to_string(LMRT_ABI_VERSION_MAJOR) + "." +
                                                std::to_string(LMRT_ABI_VERSION_MINOR) + ", host offers " +
                                                std::to_string(LMRT_VERSION_MAJOR(host_abi_version)) + "." +
                                                std::to_string(LMRT_VERSION_MINOR(host_abi_version)));
    if (d == nullptr || d->struct_size < sizeof(lmrt_plugin_descriptor))
      throw Error(LMRT_STATUS_ABI_MISMATCH, std::string(kName) + ": plugin descriptor is NULL or too small");
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_ENGINE;
    d->reserved0 = 0;
    d->name = kName;
    d->version = "0.1.0";
    d->description = "GPU engine (CUDA, fp16/bf16): cuBLAS GEMMs, paged attention, GPU sampling";
    d->api = &kApi;
    d->probe = probe;
    d->unload = nullptr;
  });
}
