#include "host_memory.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include "lmrt/plugin.hpp"

namespace lmrt::cpu {

HostMemory read_host_memory() {
  std::ifstream in("/proc/meminfo");
  if (!in) throw lmrt::plugin::Error(LMRT_STATUS_IO_ERROR, "cpu engine: cannot read /proc/meminfo");
  HostMemory m;
  bool have_total = false, have_available = false;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (!(fields >> key >> kib)) continue;
    if (key == "MemTotal:") m.total_bytes = kib * 1024, have_total = true;
    if (key == "MemAvailable:") m.available_bytes = kib * 1024, have_available = true;
  }
  if (!have_total || !have_available)
    throw lmrt::plugin::Error(LMRT_STATUS_IO_ERROR, "cpu engine: /proc/meminfo lacks MemTotal or MemAvailable");
  return m;
}

}  // namespace lmrt::cpu
