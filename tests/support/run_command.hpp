// Runs a shell command for tests and captures its exit code, stdout and stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lmrt::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `command` runs under /bin/sh; `input` is fed to its stdin.
inline CommandResult run_command(const std::string& command, const std::string& input = "") {
  static int counter = 0;
  auto dir = std::filesystem::temp_directory_path() /
             ("lmrt-cmd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "in", std::ios::binary) << input;
  std::string full = "(" + command + ") < '" + (dir / "in").string() + "' > '" + (dir / "out").string() + "' 2> '" +
                     (dir / "err").string() + "'";
  int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir / "out");
  r.err = read_file(dir / "err");
  std::filesystem::remove_all(dir);
  return r;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace lmrt::test
