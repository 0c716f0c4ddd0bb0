// lmrt: deploy LLMs. Subcommands in LMDeploy's shape (docs/cli.md).
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "lmrt/core/status.hpp"

int main(int argc, char** argv) {
  using namespace lmrt::app;
  lmrt::log::init(LMRT_LOG_INFO);
  CLI::App app{"lmrt: a runtime that deploys LLMs and VLMs (chat, serve, generate, quantize)", "lmrt"};
  app.set_version_flag("--version", std::string("lmrt ") + LMRT_VERSION_STRING);
  app.require_subcommand(1);
  Commands cmds;
  add_frontend_commands(app, cmds);
  add_generate(app, cmds);
  add_config_commands(app, cmds);
  add_inspect_commands(app, cmds);
  add_unavailable_commands(app, cmds);
  add_bench_commands(app, cmds);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUnavailable;  // usage errors exit 2
  } catch (const lmrt::Error& e) {
    std::cerr << "lmrt: " << e.what() << "\n";
    return e.code() == LMRT_STATUS_CONFIG_ERROR || e.code() == LMRT_STATUS_INVALID_ARGUMENT ? kExitUnavailable
                                                                                             : kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "lmrt: " << e.what() << "\n";
    return kExitFailure;
  }
  return cmds.exit_code;
}
