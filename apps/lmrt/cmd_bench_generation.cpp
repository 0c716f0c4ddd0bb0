// `lmrt bench generation`: not implemented yet (says so and exits 2).
#include <iostream>

#include "commands.hpp"

namespace lmrt::app {

void add_bench_generation(CLI::App& bench, Commands& cmds) {
  auto* cmd = bench.add_subcommand("generation", "benchmark: generation (not implemented yet)");
  cmd->allow_extras();
  cmd->callback([&cmds] {
    std::cerr << "lmrt bench generation: not implemented in this build yet.\n";
    cmds.exit_code = kExitUnavailable;
  });
}

}  // namespace lmrt::app
