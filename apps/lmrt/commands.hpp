// The subcommands of `lmrt`, each registered on the CLI11 app by its own file.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "deployment_flags.hpp"

namespace lmrt::app {

// Exit codes: 0 ok, 1 failure, 2 usage error or a capability this build lacks.
constexpr int kExitFailure = 1;
constexpr int kExitUnavailable = 2;

struct Commands {
  int exit_code = 0;
};

struct GenerateOptions {
  std::vector<std::string> prompts;
  std::string prompts_file;
  uint32_t max_new_tokens = 512;
  uint32_t min_new_tokens = 0;
  float temperature = 0.8f;
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  std::vector<std::string> stop_words;
  bool ignore_eos = false;
  bool json = false;
};

void add_generate(CLI::App& app, Commands& cmds);
int run_generate(const DeploymentFlags& flags, const GenerateOptions& options, CLI::App* cmd);
void add_frontend_commands(CLI::App& app, Commands& cmds);  // chat, serve, run
void add_config_commands(CLI::App& app, Commands& cmds);    // config print|validate
void add_inspect_commands(CLI::App& app, Commands& cmds);   // plugins list, check_env
void add_unavailable_commands(CLI::App& app, Commands& cmds);  // lite
// `lmrt bench generation|throughput|serving` (cmd_bench.cpp registers the group; each
// benchmark lives in its own file).
void add_bench_commands(CLI::App& app, Commands& cmds);
void add_bench_generation(CLI::App& bench, Commands& cmds);  // cmd_bench_generation.cpp
void add_bench_throughput(CLI::App& bench, Commands& cmds);  // cmd_bench_throughput.cpp
void add_bench_serving(CLI::App& bench, Commands& cmds);     // cmd_bench_serving.cpp

}  // namespace lmrt::app
