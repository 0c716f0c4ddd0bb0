// Runs a frontend plugin the way the design says the host does: find it, make a
// runtime when it needs one, route SIGINT/SIGTERM to it, call run on this thread.
#pragma once

#include <string>

#include "lmrt/core/config.hpp"

namespace lmrt::app {

// Returns the process exit code: 0 on a clean exit; throws lmrt::Error otherwise.
int run_frontend(const std::string& frontend, Deployment deployment);

}  // namespace lmrt::app
