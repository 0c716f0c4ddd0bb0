// The host table (host.h) as the core implements it.
#pragma once

#include "lmrt/host.h"

namespace lmrt {

class PluginRegistry;

// A host table whose context is `registry`: statuses from status.hpp, logging to
// the process logger, config sections and plugin lookup through the registry.
lmrt_host_api make_host_api(PluginRegistry* registry);

}  // namespace lmrt
