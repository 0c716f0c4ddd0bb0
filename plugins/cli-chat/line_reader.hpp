// Reads lines from a file descriptor with read(2), so that a signal (Ctrl-C)
// interrupts the wait instead of being retried behind our back.
#pragma once

#include <string>

namespace lmrt::chat {

class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  enum class Result { line, interrupted, end };
  // Blocks for the next line (without its newline).
  Result read_line(std::string& line);

 private:
  int fd_;
  std::string buffer_;
  bool eof_ = false;
};

}  // namespace lmrt::chat
