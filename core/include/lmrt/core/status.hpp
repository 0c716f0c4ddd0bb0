// The host's lmrt_status objects (ABI rule 5): created and released only here,
// for plugins through the host table and for applications through runtime.h.
#pragma once

#include <string>
#include <string_view>

#include "lmrt/abi.h"
#include "lmrt/core/error.hpp"

namespace lmrt {

lmrt_status* make_status(lmrt_status_code code, std::string_view message) noexcept;
lmrt_status_code status_code(const lmrt_status* status) noexcept;
const char* status_message(const lmrt_status* status) noexcept;
void release_status(lmrt_status* status) noexcept;

// Throws an Error carrying the status's code and message (prefixed with `context`
// when given) and releases the status; does nothing for NULL.
void throw_if_error(lmrt_status* status, std::string_view context = {});

// Runs `body`, converting any exception into a status (NULL on success).
template <class F>
lmrt_status* guarded(F&& body) noexcept {
  try {
    body();
    return nullptr;
  } catch (const Error& e) {
    return make_status(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return make_status(LMRT_STATUS_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return make_status(LMRT_STATUS_INTERNAL, e.what());
  } catch (...) {
    return make_status(LMRT_STATUS_INTERNAL, "unknown exception");
  }
}

const char* status_code_name(lmrt_status_code code) noexcept;

}  // namespace lmrt
