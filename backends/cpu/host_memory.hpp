// How much host memory there is, from /proc/meminfo.
#pragma once

#include <cstdint>

namespace lmrt::cpu {

struct HostMemory {
  uint64_t total_bytes = 0;      // MemTotal
  uint64_t available_bytes = 0;  // MemAvailable: what can be allocated without swapping
};

// Throws lmrt::plugin::Error (IO_ERROR) when /proc/meminfo cannot be read.
HostMemory read_host_memory();

}  // namespace lmrt::cpu
