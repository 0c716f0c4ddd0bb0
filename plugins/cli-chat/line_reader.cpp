#include "line_reader.hpp"

#include <unistd.h>

#include <cerrno>

namespace lmrt::chat {

LineReader::Result LineReader::read_line(std::string& line) {
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return Result::line;
    }
    if (eof_) {
      if (buffer_.empty()) return Result::end;
      line.swap(buffer_);
      buffer_.clear();
      return Result::line;
    }
    char chunk[4096];
    ssize_t n = ::read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) return Result::interrupted;
    if (n <= 0) {
      eof_ = true;
      continue;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace lmrt::chat
