// `lmrt bench serving`: not implemented yet (says so and exits 2).
#include <iostream>

#include "commands.hpp"

namespace lmrt::app {

void add_bench_serving(CLI::App& bench, Commands& cmds) {
  auto* cmd = bench.add_subcommand("serving", "benchmark: serving (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([&cmds] {
    std::cerr << "lmrt bench serving: not implemented in this build yet.\n";
    cmds.exit_code = kExitUnavailable;
  });
}

}  // namespace lmrt::app
