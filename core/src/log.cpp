#include "lmrt/core/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "lmrt/core/error.hpp"

namespace lmrt::log {
namespace {
std::atomic<int> g_level{LMRT_LOG_INFO};
std::once_flag g_once;

spdlog::level::level_enum to_spd(lmrt_log_level level) {
  return static_cast<spdlog::level::level_enum>(std::min<int>(level, spdlog::level::off));
}

std::shared_ptr<spdlog::logger> logger() {
  std::call_once(g_once, [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("lmrt", sink);
    l->set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
    l->set_level(to_spd(static_cast<lmrt_log_level>(g_level.load())));
    spdlog::set_default_logger(l);
  });
  return spdlog::default_logger();
}
}  // namespace

void init(lmrt_log_level level) { set_level(level); }

void set_level(lmrt_log_level level) {
  g_level = level;
  logger()->set_level(to_spd(level));
}

lmrt_log_level level() { return static_cast<lmrt_log_level>(g_level.load()); }

lmrt_log_level parse_level(std::string_view name) {
  std::string s(name);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "trace") return LMRT_LOG_TRACE;
  if (s == "debug") return LMRT_LOG_DEBUG;
  if (s == "info") return LMRT_LOG_INFO;
  if (s == "warning" || s == "warn") return LMRT_LOG_WARN;
  if (s == "error") return LMRT_LOG_ERROR;
  if (s == "critical") return LMRT_LOG_CRITICAL;
  if (s == "off") return LMRT_LOG_OFF;
  fail(LMRT_STATUS_INVALID_ARGUMENT,
       "unknown log level '" + std::string(name) + "' (choose trace, debug, info, warning, error, critical or off)");
}

void write(lmrt_log_level lvl, std::string_view source, std::string_view message) {
  if (lvl < level() || lvl >= LMRT_LOG_OFF) return;
  if (source.empty())
    logger()->log(to_spd(lvl), "{}", message);
  else
    logger()->log(to_spd(lvl), "[{}] {}", source, message);
}

}  // namespace lmrt::log
