// Helpers for the tokenizer tests: test data paths, temporary folders, reading lines,
// running a command.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lmrt::test {

inline std::filesystem::path testdata() { return LMRT_TESTDATA_DIR; }

// GTEST_SKIP()s the calling test when `p` is missing.
#define LMRT_REQUIRE_PATH(p)                                                                  \
  do {                                                                                         \
    if (!std::filesystem::exists(p)) GTEST_SKIP() << "test data not found: " << (p).string(); \
  } while (0)

inline std::vector<std::string> read_lines(const std::filesystem::path& file, std::size_t max_lines) {
  std::ifstream in(file, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (lines.size() < max_lines && std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
}

// A fresh folder under the system temp dir, removed at the end of the scope.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("lmrt-tok-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Runs a shell command; returns its stdout, or nullopt when it fails.
inline std::optional<std::string> run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  if (pclose(pipe) != 0) return std::nullopt;
  return out;
}

inline bool has_program(const std::string& name) {
  return run_command("command -v " + name + " >/dev/null 2>&1 && echo yes").value_or("") == "yes\n";
}

}  // namespace lmrt::test
