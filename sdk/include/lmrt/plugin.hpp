// C++ helpers for plugin authors (header-only; nothing here crosses the ABI).
//
//   static lmrt::plugin::Host g_host;   // one per plugin module
//   LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* h, uint32_t v,
//                                                    lmrt_plugin_descriptor* d) {
//     return g_host.guard([&] { g_host.attach(h, "myplugin"); ... fill d ... });
//   }
//
// Every entry point a plugin exports through a table should run its body in
// Host::guard, which turns exceptions into statuses (ABI rule 5).
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "lmrt/abi.h"
#include "lmrt/host.h"

#define LMRT_PLUGIN_EXPORT extern "C" LMRT_EXPORT

namespace lmrt::plugin {

// An error with an lmrt status code; guard() turns it into a status.
class Error : public std::runtime_error {
 public:
  Error(lmrt_status_code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  lmrt_status_code code() const noexcept { return code_; }

 private:
  lmrt_status_code code_;
};

inline lmrt_str to_str(std::string_view s) noexcept { return lmrt_str{s.data(), s.size()}; }
inline std::string_view view(lmrt_str s) noexcept { return s.data ? std::string_view(s.data, s.size) : std::string_view(); }

// Copies `text` into a fixed capability field, truncating at a UTF-8 boundary.
template <size_t N>
void copy_text(char (&dst)[N], std::string_view text) noexcept {
  size_t n = text.size() < N - 1 ? text.size() : N - 1;
  while (n > 0 && n < text.size() && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  std::memcpy(dst, text.data(), n);
  dst[n] = '\0';
}

// The host table as a plugin sees it, with C++ conveniences.
class Host {
 public:
  void attach(const lmrt_host_api* api, const char* source) {
    if (api == nullptr) throw std::invalid_argument("host table is NULL");
    if (api->struct_size < sizeof(lmrt_host_api)) throw Error(LMRT_STATUS_ABI_MISMATCH, "host table too small");
    api_ = api;
    source_ = source;
  }
  const lmrt_host_api* api() const noexcept { return api_; }

  lmrt_status* status(lmrt_status_code code, std::string_view message) const noexcept {
    return api_ ? api_->status_create(code, to_str(message)) : nullptr;
  }

  void log(lmrt_log_level level, std::string_view message) const noexcept {
    if (api_ && level >= api_->log_level(api_->host_context)) api_->log(api_->host_context, level, source_, to_str(message));
  }
  bool enabled(lmrt_log_level level) const noexcept { return api_ && level >= api_->log_level(api_->host_context); }

  // Runs `body` and returns NULL, or a status for the exception it threw.
  template <class F>
  lmrt_status* guard(F&& body) const noexcept {
    try {
      std::forward<F>(body)();
      return nullptr;
    } catch (const Error& e) {
      return status(e.code(), e.what());
    } catch (const std::bad_alloc&) {
      return status(LMRT_STATUS_OUT_OF_MEMORY, std::string(source_) + ": out of host memory");
    } catch (const std::invalid_argument& e) {
      return status(LMRT_STATUS_INVALID_ARGUMENT, e.what());
    } catch (const std::exception& e) {
      return status(LMRT_STATUS_INTERNAL, e.what());
    } catch (...) {
      return status(LMRT_STATUS_INTERNAL, std::string(source_) + ": unknown exception");
    }
  }

  // Reads a config section of the active deployment (empty when absent).
  std::string config_section(const char* path) const {
    std::string out;
    lmrt_status* st = api_->config_section(
        api_->host_context, path,
        [](void* user, lmrt_str text) { static_cast<std::string*>(user)->assign(text.data, text.size); }, &out);
    if (st) {
      std::string msg = api_->status_message(st);
      api_->status_release(st);
      throw Error(LMRT_STATUS_NOT_FOUND, msg);
    }
    return out;
  }

 private:
  const lmrt_host_api* api_ = nullptr;
  const char* source_ = "plugin";
};

// Checks a struct_size written by the other side before reading a field that a
// later minor version may have appended. Usage: LMRT_HAS_FIELD(p, lmrt_x, field).
#define LMRT_HAS_FIELD(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)nullptr)->field))

}  // namespace lmrt::plugin
