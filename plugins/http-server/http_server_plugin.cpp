// http-server: `lmrt serve api_server`, the OpenAI-compatible HTTP server (docs/serving.md).
//
// run() binds the port, serves on a thread of its own and watches the host's signal
// count from the main thread: on SIGINT/SIGTERM it stops accepting, lets in-flight
// requests finish for a grace period, cancels what is left, and returns (exit 0).
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <thread>

#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"
#include "server.hpp"

namespace {

lmrt::plugin::Host g_host;
constexpr const char* kName = "http-server";
constexpr auto kGrace = std::chrono::seconds(5);  // in-flight requests get this long to finish on shutdown

// The deployment's generation section as a runtime config (the defaults of every request).
void generation_defaults(const lmrt_runtime_api* api, lmrt_gen_config& g, std::vector<std::string>& stop) {
  api->gen_config_init(&g);
  YAML::Node n = YAML::Load(g_host.config_section("generation"));
  if (!n.IsMap()) return;
  auto set = [&](const char* key, auto& field) {
    if (n[key] && !n[key].IsNull()) field = n[key].as<std::remove_reference_t<decltype(field)>>();
  };
  set("max_new_tokens", g.max_new_tokens);
  set("min_new_tokens", g.min_new_tokens);
  set("temperature", g.temperature);
  set("top_p", g.top_p);
  set("top_k", g.top_k);
  set("min_p", g.min_p);
  set("repetition_penalty", g.repetition_penalty);
  if (n["seed"] && !n["seed"].IsNull()) {
    g.seed = n["seed"].as<uint64_t>();
    g.has_seed = 1;
  }
  if (n["ignore_eos"]) g.ignore_eos = n["ignore_eos"].as<bool>() ? 1 : 0;
  if (n["skip_special_tokens"]) g.skip_special_tokens = n["skip_special_tokens"].as<bool>() ? 1 : 0;
  if (n["stop_words"] && n["stop_words"].IsSequence()) stop = n["stop_words"].as<std::vector<std::string>>();
}

void serve(const lmrt_frontend_context* ctx) {
  auto options = lmrt::http::ServerOptions::from_yaml(std::string(ctx->config_yaml.data, ctx->config_yaml.size));
  lmrt_gen_config defaults{};
  std::vector<std::string> stop;
  generation_defaults(ctx->runtime_api, defaults, stop);
  lmrt::http::Server server(ctx->runtime_api, ctx->runtime, options, defaults, stop);
  server.bind();
  uint64_t seen = ctx->interrupt_count(ctx->host->host_context);
  g_host.log(LMRT_LOG_INFO, "serving " + server.model_name() + " on http://" + options.server_name + ":" +
                                std::to_string(server.port()) + " (Ctrl-C stops)");
  std::thread listener([&] { server.serve(); });
  while (ctx->interrupt_count(ctx->host->host_context) == seen)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  seen = ctx->interrupt_count(ctx->host->host_context);
  g_host.log(LMRT_LOG_INFO, "shutting down: no new connections; " + std::to_string(server.in_flight()) +
                                " requests in flight");
  server.stop();
  // In-flight requests finish within the grace period (a second signal ends it), then are cancelled.
  auto deadline = std::chrono::steady_clock::now() + kGrace;
  while (server.in_flight() > 0 && std::chrono::steady_clock::now() < deadline &&
         ctx->interrupt_count(ctx->host->host_context) == seen)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.cancel_in_flight();
  listener.join();
  g_host.log(LMRT_LOG_INFO, "stopped");
}

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    if (!ctx || ctx->struct_size < sizeof(lmrt_frontend_context) || !ctx->runtime || !ctx->runtime_api)
      throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "http-server needs a runtime");
    serve(ctx);
  });
}

const lmrt_frontend_api kApi = {sizeof(lmrt_frontend_api), 1, run};

}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, kName);
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_FRONTEND;
    d->name = kName;
    d->version = "0.1.0";
    d->description = "OpenAI-compatible HTTP server with LMDeploy's endpoints and the web chat page";
    d->api = &kApi;
  });
}
