// `lmrt config print|validate`: the effective deployment, and checking files.
#include <iostream>

#include "commands.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt::app {

void add_config_commands(CLI::App& app, Commands& cmds) {
  auto* config = app.add_subcommand("config", "print or validate deployment configs");
  config->require_subcommand(1);
  {
    auto* cmd = config->add_subcommand("print", "print the effective deployment (file + flags + defaults) as YAML");
    auto flags = std::make_shared<DeploymentFlags>(
        cmd, std::vector<std::string>{"model.", "engine.", "frontends.http-server."}, true);
    cmd->callback([flags] { std::cout << flags->build().to_yaml(); });
  }
  {
    auto* cmd = config->add_subcommand("validate", "check deployment files; exit 1 if any is invalid");
    auto files = std::make_shared<std::vector<std::string>>();
    cmd->add_option("files", *files, "deployment YAML files")->required();
    cmd->callback([files, &cmds] {
      for (const auto& f : *files) {
        try {
          Deployment::load_file(f);
          std::cout << f << ": ok\n";
        } catch (const Error& e) {
          std::cerr << e.what() << "\n";
          cmds.exit_code = kExitFailure;
        }
      }
    });
  }
}

}  // namespace lmrt::app
