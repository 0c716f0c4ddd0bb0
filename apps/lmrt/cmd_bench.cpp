// `lmrt bench ...`: benchmarks (not tests). Each reports what it measured and, where it
// can, the fraction of the hardware floor (docs/benchmarks.md).
#include "commands.hpp"

namespace lmrt::app {

void add_bench_commands(CLI::App& app, Commands& cmds) {
  auto* bench = app.add_subcommand("bench", "benchmarks: generation, throughput, serving");
  bench->require_subcommand(1);
  add_bench_generation(*bench, cmds);
  add_bench_throughput(*bench, cmds);
  add_bench_serving(*bench, cmds);
}

}  // namespace lmrt::app
