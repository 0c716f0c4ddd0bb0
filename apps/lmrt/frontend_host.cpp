#include "frontend_host.hpp"

#include <atomic>
#include <csignal>
#include <memory>

#include "lmrt/core/log.hpp"
#include "lmrt/core/plugin_registry.hpp"
#include "lmrt/core/runtime.hpp"
#include "lmrt/core/runtime_handle.hpp"
#include "lmrt/core/status.hpp"
#include "lmrt/frontend.h"

namespace lmrt::app {
namespace {

std::atomic<uint64_t> g_interrupts{0};

extern "C" void on_signal(int) { g_interrupts.fetch_add(1); }

uint64_t interrupt_count(void*) { return g_interrupts.load(); }

// No SA_RESTART: a blocking read in the frontend returns EINTR, so it can react.
void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int run_frontend(const std::string& frontend, Deployment deployment) {
  log::set_level(deployment.log_level());
  deployment.add_frontend(frontend);
  auto registry = std::make_shared<PluginRegistry>(deployment.plugins().search_paths);
  registry->set_config_provider([d = deployment](const std::string& path) -> std::optional<std::string> {
    return d.section_yaml(path);
  });
  const LoadedPlugin& plugin = registry->find(frontend, LMRT_PLUGIN_FRONTEND);
  const auto* api = plugin.api<lmrt_frontend_api>();
  if (api->struct_size < sizeof(lmrt_frontend_api) || !api->run)
    fail(LMRT_STATUS_ABI_MISMATCH, "frontend '" + frontend + "' has an incomplete function table");

  std::unique_ptr<lmrt_runtime> runtime;
  if (api->needs_runtime) runtime = make_runtime_handle(std::make_unique<Runtime>(deployment, registry));

  std::string section = deployment.frontend_yaml(frontend);
  lmrt_frontend_context ctx{};
  ctx.struct_size = sizeof(ctx);
  ctx.host = registry->host_api();
  ctx.runtime_api = runtime_api_table();
  ctx.runtime = runtime.get();
  ctx.config_yaml = lmrt_str{section.data(), section.size()};
  ctx.interrupt_count = interrupt_count;
  install_signal_handlers();
  throw_if_error(api->run(&ctx), "frontend '" + frontend + "'");
  runtime.reset();  // before the registry, which keeps the plugins loaded
  return 0;
}

}  // namespace lmrt::app
