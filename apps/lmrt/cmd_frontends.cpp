// Subcommands that hand the process to a frontend plugin: chat, serve, run.
#include <iostream>

#include "commands.hpp"
#include "frontend_host.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/plugin_registry.hpp"

namespace lmrt::app {
namespace {

// Runs `frontend`, or says that this build does not have it (exit 2).
int run_or_unavailable(const std::string& what, const std::string& frontend, const Deployment& d) {
  PluginRegistry probe_registry(d.plugins().search_paths);
  try {
    probe_registry.find(frontend, LMRT_PLUGIN_FRONTEND);
  } catch (const Error& e) {
    if (e.code() != LMRT_STATUS_NOT_FOUND) throw;
    std::cerr << "lmrt " << what << ": the '" << frontend
              << "' frontend plugin is not available in this build (not implemented yet, or not installed).\n"
              << "  " << e.what() << "\n";
    return kExitUnavailable;
  }
  return run_frontend(frontend, d);
}

}  // namespace

void add_frontend_commands(CLI::App& app, Commands& cmds) {
  {
    auto* cmd = app.add_subcommand("chat", "chat with a model in the terminal (streaming, multi-turn)");
    auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"model.", "engine."}, true);
    cmd->callback([flags, &cmds] { cmds.exit_code = run_or_unavailable("chat", "cli-chat", flags->build_or_bundled_model()); });
  }
  auto* serve = app.add_subcommand("serve", "serve a model over HTTP, or talk to a server");
  serve->require_subcommand(1);
  {
    auto* cmd = serve->add_subcommand("api_server", "OpenAI-compatible HTTP server (with a web chat page)");
    auto flags = std::make_shared<DeploymentFlags>(
        cmd, std::vector<std::string>{"model.", "engine.", "frontends.http-server."}, true);
    cmd->callback([flags, &cmds] {
      cmds.exit_code = run_or_unavailable("serve api_server", "http-server", flags->build_or_bundled_model());
    });
  }
  {
    auto* cmd = serve->add_subcommand("api_client", "chat in the terminal with an api_server");
    auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"frontends.api-client."}, false);
    auto url = std::make_shared<std::string>();
    cmd->add_option("api_server_url", *url, "http://HOST:PORT of the server")->required();
    cmd->callback([flags, url, &cmds] {
      Deployment d = flags->build();
      d.set("frontends.api-client.url", *url, "api_server_url");
      cmds.exit_code = run_or_unavailable("serve api_client", "api-client", d);
    });
  }
  {
    auto* cmd = serve->add_subcommand("webui", "serve the web chat page for an api_server");
    auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"frontends.webui."}, false);
    auto url = std::make_shared<std::string>();
    cmd->add_option("api_server_url", *url, "http://HOST:PORT of the server")->required();
    cmd->callback([flags, url, &cmds] {
      Deployment d = flags->build();
      d.set("frontends.webui.url", *url, "api_server_url");
      cmds.exit_code = run_or_unavailable("serve webui", "webui", d);
    });
  }
  {
    auto* cmd = app.add_subcommand("run", "run the deployment a YAML file describes (its frontend)");
    auto file = std::make_shared<std::string>();
    auto frontend = std::make_shared<std::string>();
    cmd->add_option("file", *file, "deployment YAML")->required()->check(CLI::ExistingFile);
    cmd->add_option("--frontend", *frontend, "which frontend of the file to run (when it names several)");
    auto log_level = std::make_shared<std::string>();
    cmd->add_option("--log-level", *log_level, "overrides the file's log_level");
    cmd->callback([file, frontend, log_level, &cmds] {
      Deployment d = Deployment::load_file(*file);
      if (!log_level->empty()) d.set("log_level", *log_level, "--log-level");
      std::string name = *frontend;
      auto names = d.frontend_names();
      if (name.empty()) {
        if (names.size() != 1)
          fail(LMRT_STATUS_CONFIG_ERROR, *file + ": " +
                                             (names.empty() ? std::string("names no frontend (add a frontends: section)")
                                                            : std::string("names several frontends; pick one with --frontend")));
        name = names.front();
      }
      cmds.exit_code = run_or_unavailable("run", name, d);
    });
  }
}

}  // namespace lmrt::app
