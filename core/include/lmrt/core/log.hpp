// Logging: spdlog to stderr, one logger for the host and its plugins.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "lmrt/abi.h"

namespace lmrt::log {

// Sets up the stderr logger once; later calls only change the level.
void init(lmrt_log_level level = LMRT_LOG_INFO);
void set_level(lmrt_log_level level);
lmrt_log_level level();
// Parses "trace|debug|info|warning|warn|error|critical|off" (case-insensitive, LMDeploy's
// --log-level names); throws an INVALID_ARGUMENT Error naming the choices otherwise.
lmrt_log_level parse_level(std::string_view name);
void write(lmrt_log_level level, std::string_view source, std::string_view message);

}  // namespace lmrt::log
