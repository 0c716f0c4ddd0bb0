#include "lmrt/core/status.hpp"

#include <new>

struct lmrt_status {
  lmrt_status_code code;
  std::string message;
};

namespace lmrt {
namespace {
// Returned when a status cannot be allocated; never freed.
lmrt_status g_out_of_memory{LMRT_STATUS_OUT_OF_MEMORY, "out of host memory (while reporting an error)"};
}  // namespace

lmrt_status* make_status(lmrt_status_code code, std::string_view message) noexcept {
  if (code == LMRT_STATUS_OK) return nullptr;
  try {
    return new lmrt_status{code, std::string(message)};
  } catch (...) {
    return &g_out_of_memory;
  }
}

lmrt_status_code status_code(const lmrt_status* status) noexcept { return status ? status->code : LMRT_STATUS_OK; }

const char* status_message(const lmrt_status* status) noexcept { return status ? status->message.c_str() : ""; }

void release_status(lmrt_status* status) noexcept {
  if (status != nullptr && status != &g_out_of_memory) delete status;
}

void throw_if_error(lmrt_status* status, std::string_view context) {
  if (status == nullptr) return;
  lmrt_status_code code = status->code;
  std::string message = context.empty() ? status->message : std::string(context) + ": " + status->message;
  release_status(status);
  throw Error(code, message);
}

const char* status_code_name(lmrt_status_code code) noexcept {
  switch (code) {
    case LMRT_STATUS_OK: return "ok";
    case LMRT_STATUS_INVALID_ARGUMENT: return "invalid argument";
    case LMRT_STATUS_NOT_FOUND: return "not found";
    case LMRT_STATUS_ALREADY_EXISTS: return "already exists";
    case LMRT_STATUS_OUT_OF_MEMORY: return "out of memory";
    case LMRT_STATUS_UNSUPPORTED: return "unsupported";
    case LMRT_STATUS_ABI_MISMATCH: return "ABI mismatch";
    case LMRT_STATUS_CANCELLED: return "cancelled";
    case LMRT_STATUS_DEVICE_ERROR: return "device error";
    case LMRT_STATUS_CAPACITY: return "capacity";
    case LMRT_STATUS_IO_ERROR: return "I/O error";
    case LMRT_STATUS_MODEL_ERROR: return "model error";
    case LMRT_STATUS_CONFIG_ERROR: return "config error";
    case LMRT_STATUS_INTERNAL: return "internal error";
  }
  return "unknown";
}

}  // namespace lmrt
