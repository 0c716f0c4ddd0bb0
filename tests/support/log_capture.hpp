// What the process logs at info level while one of these lives (an extra sink on spdlog's default logger, which
// lmrt's log writes to; plugins log through the host into it too). Restores the level when it goes.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>

#include "lmrt/core/log.hpp"

namespace lmrt::testing {

class LogCapture {
 public:
  LogCapture() : level_(lmrt::log::level()) {
    lmrt::log::set_level(LMRT_LOG_INFO);  // also creates the logger, so that the sink joins the one in use
    sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    spdlog::default_logger()->sinks().push_back(sink_);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.erase(std::find(sinks.begin(), sinks.end(), sink_));
    lmrt::log::set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::string text() const { return text_.str(); }

 private:
  lmrt_log_level level_;
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

}  // namespace lmrt::testing
