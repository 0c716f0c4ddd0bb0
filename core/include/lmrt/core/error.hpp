// Errors inside the core: C++ exceptions carrying an lmrt_status_code. They are
// turned into lmrt_status objects at the ABI boundary (status.hpp).
#pragma once

#include <string>

#include "lmrt/plugin.hpp"

namespace lmrt {

using plugin::Error;

[[noreturn]] inline void fail(lmrt_status_code code, const std::string& message) { throw Error(code, message); }

}  // namespace lmrt
