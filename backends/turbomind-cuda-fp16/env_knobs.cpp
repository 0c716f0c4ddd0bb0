#include "env_knobs.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#include "lmrt/plugin.hpp"

namespace lmrt::tm {
namespace {

[[noreturn]] void bad(const char* name, const char* must, const char* got) {
  throw lmrt::plugin::Error(LMRT_STATUS_CONFIG_ERROR,
                            std::string("turbomind-cuda-fp16: ") + name + " must be " + must + ", got '" + got + "'");
}

}  // namespace

void read_env_flag(const char* name, bool& value) {
  const char* v = std::getenv(name);
  if (!v || !*v) return;
  if (std::strcmp(v, "0") != 0 && std::strcmp(v, "1") != 0) bad(name, "0 or 1", v);
  value = v[0] == '1';
}

void read_env_int(const char* name, long lo, long hi, long step, const char* must, int& value) {
  const char* v = std::getenv(name);
  if (!v || !*v) return;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < lo || n > hi || n % step != 0) bad(name, must, v);
  value = static_cast<int>(n);
}

}  // namespace lmrt::tm
