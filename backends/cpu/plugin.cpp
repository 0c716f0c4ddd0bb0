// The cpu engine plugin's bootstrap: descriptor, probe and the engine table.
// Every entry runs inside Host::guard so exceptions become statuses.
#include <string>

#include "cpu_engine.hpp"
#include "engine_config.hpp"
#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"
#include "model_weights.hpp"

namespace {

using lmrt::cpu::CpuEngine;
using lmrt::plugin::Error;

lmrt::plugin::Host g_host;

CpuEngine& engine_of(lmrt_engine* engine) {
  if (engine == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: engine is NULL");
  return *reinterpret_cast<CpuEngine*>(engine);
}

lmrt_status* probe(const lmrt_host_api*, lmrt_str request_yaml, lmrt_capabilities* out) {
  return g_host.guard([&] {
    if (out == nullptr || out->struct_size < sizeof(lmrt_capabilities))
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: probe: capabilities struct is NULL or too small");
    const std::string format = lmrt::cpu::probe_model_format(lmrt::plugin::view(request_yaml));
    const unsigned threads = lmrt::cpu::resolve_num_threads(
        lmrt::cpu::parse_engine_config(lmrt::plugin::view(request_yaml)).num_threads);
    lmrt::plugin::copy_text(out->devices, "cpu (" + std::to_string(threads) + " threads)");
    lmrt::plugin::copy_text(out->dtypes, "float32");
    lmrt::plugin::copy_text(out->formats, "hf");
    if (format == "hf") {
      out->score = 10;
      lmrt::plugin::copy_text(out->reason, "");
    } else {
      out->score = 0;
      lmrt::plugin::copy_text(out->reason, "the cpu engine runs dense 'hf' weights only, not model.format '" + format + "'");
    }
  });
}

lmrt_status* create(const lmrt_host_api*, const lmrt_engine_create_params* params, lmrt_engine** out) {
  return g_host.guard([&] {
    if (params == nullptr || out == nullptr)
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: create: params or out is NULL");
    if (params->struct_size < sizeof(lmrt_engine_create_params))
      throw Error(LMRT_STATUS_ABI_MISMATCH, "cpu engine: create: params.struct_size is too small");
    if (params->model == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: create: params.model is NULL");
    const lmrt::cpu::EngineConfig config = lmrt::cpu::parse_engine_config(lmrt::plugin::view(params->config_yaml));
    auto engine = std::make_unique<CpuEngine>(g_host, config, lmrt::cpu::load_model_weights(*params->model));
    *out = reinterpret_cast<lmrt_engine*>(engine.release());
  });
}

lmrt_status* capacity(lmrt_engine* engine, const lmrt_capacity_query* query, lmrt_capacity* out) {
  return g_host.guard([&] {
    if (query == nullptr || out == nullptr)
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: capacity: query or out is NULL");
    engine_of(engine).capacity(*query, *out);
  });
}

lmrt_status* allocate_cache(lmrt_engine* engine, const lmrt_cache_config* config) {
  return g_host.guard([&] {
    if (config == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: allocate_cache: config is NULL");
    engine_of(engine).allocate_cache(*config);
  });
}

lmrt_status* step(lmrt_engine* engine, const lmrt_step_batch* batch, lmrt_token_logprobs* outputs) {
  return g_host.guard([&] {
    if (batch == nullptr) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "cpu engine: step: batch is NULL");
    engine_of(engine).step(*batch, outputs);
  });
}

void destroy(lmrt_engine* engine) { delete reinterpret_cast<CpuEngine*>(engine); }

const lmrt_engine_api kEngineApi = {
    sizeof(lmrt_engine_api), 0, &create, &capacity, &allocate_cache, &step, &destroy,
};

}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t host_abi_version,
                                                 lmrt_plugin_descriptor* out) {
  if (host == nullptr) return nullptr;  // nothing to report through; the host sees an empty descriptor
  return g_host.guard([&] {
    g_host.attach(host, "cpu");
    if (LMRT_VERSION_MAJOR(host_abi_version) != LMRT_ABI_VERSION_MAJOR ||
        host_abi_version < LMRT_ABI_VERSION)  // same major: a lower minor lacks what we use
      throw Error(LMRT_STATUS_ABI_MISMATCH, "cpu engine: built for ABI " + std::to_string(LMRT_ABI_VERSION_MAJOR) + "." +
                                                std::to_string(LMRT_ABI_VERSION_MINOR) + ", host offers " +
                                                std::to_string(LMRT_VERSION_MAJOR(host_abi_version)) + "." +
                                                std::to_string(LMRT_VERSION_MINOR(host_abi_version)));
    if (out == nullptr || out->struct_size < sizeof(lmrt_plugin_descriptor))
      throw Error(LMRT_STATUS_ABI_MISMATCH, "cpu engine: plugin descriptor is NULL or too small");
    out->abi_version = LMRT_ABI_VERSION;
    out->kind = LMRT_PLUGIN_ENGINE;
    out->reserved0 = 0;
    out->name = "cpu";
    out->version = "0.1.0";
    out->description = "Reference engine on the host CPU: Llama-family models in fp32, paged KV, multithreaded";
    out->api = &kEngineApi;
    out->probe = &probe;
    out->unload = nullptr;
  });
}
