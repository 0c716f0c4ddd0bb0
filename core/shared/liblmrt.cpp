// liblmrt.so: the runtime C API (runtime.h) for applications and the Python
// package. Only these lmrt_* functions are exported; the core is linked in
// statically and stays hidden.
#include "lmrt/core/runtime.hpp"
#include "lmrt/runtime.h"

namespace {
const lmrt_runtime_api& api() { return *lmrt::runtime_api_table(); }
}  // namespace

extern "C" {

LMRT_API lmrt_status_code lmrt_status_get_code(const lmrt_status* s) { return api().status_get_code(s); }
LMRT_API const char* lmrt_status_get_message(const lmrt_status* s) { return api().status_get_message(s); }
LMRT_API void lmrt_status_release(lmrt_status* s) { api().status_release(s); }
LMRT_API void lmrt_gen_config_init(lmrt_gen_config* c) { api().gen_config_init(c); }

LMRT_API lmrt_status* lmrt_runtime_create(lmrt_str yaml, const char* origin, const char* base_dir, lmrt_runtime** out) {
  return api().runtime_create(yaml, origin, base_dir, out);
}
LMRT_API void lmrt_runtime_destroy(lmrt_runtime* r) { api().runtime_destroy(r); }
LMRT_API lmrt_status* lmrt_runtime_submit(lmrt_runtime* r, const lmrt_request_params* p, lmrt_event_callback cb,
                                          void* user, uint64_t* id) {
  return api().submit(r, p, cb, user, id);
}
LMRT_API lmrt_status* lmrt_runtime_next_event(lmrt_runtime* r, uint64_t id, int32_t timeout_ms, lmrt_event* out,
                                              int32_t* got) {
  return api().next_event(r, id, timeout_ms, out, got);
}
LMRT_API void lmrt_runtime_release_request(lmrt_runtime* r, uint64_t id) { api().release_request(r, id); }
LMRT_API lmrt_status* lmrt_runtime_cancel(lmrt_runtime* r, uint64_t id) { return api().cancel(r, id); }
LMRT_API lmrt_status* lmrt_runtime_end_session(lmrt_runtime* r, uint64_t sid) { return api().end_session(r, sid); }
LMRT_API lmrt_status* lmrt_runtime_encode(lmrt_runtime* r, lmrt_str text, int32_t add_special, lmrt_tokens_sink sink,
                                          void* user) {
  return api().encode(r, text, add_special, sink, user);
}
LMRT_API lmrt_status* lmrt_runtime_decode(lmrt_runtime* r, const int32_t* tokens, uint32_t n, int32_t skip_special,
                                          lmrt_text_sink sink, void* user) {
  return api().decode(r, tokens, n, skip_special, sink, user);
}
LMRT_API lmrt_status* lmrt_runtime_apply_chat_template(lmrt_runtime* r, const lmrt_message* m, uint32_t n,
                                                       lmrt_text_sink sink, void* user) {
  return api().apply_chat_template(r, m, n, sink, user);
}
LMRT_API lmrt_status* lmrt_runtime_info_json(lmrt_runtime* r, lmrt_text_sink sink, void* user) {
  return api().info_json(r, sink, user);
}
LMRT_API lmrt_status* lmrt_runtime_stats_json(lmrt_runtime* r, lmrt_text_sink sink, void* user) {
  return api().stats_json(r, sink, user);
}
LMRT_API const lmrt_runtime_api* lmrt_get_runtime_api(uint32_t abi_version) {
  if (LMRT_VERSION_MAJOR(abi_version) != LMRT_ABI_VERSION_MAJOR ||
      LMRT_VERSION_MINOR(abi_version) > LMRT_ABI_VERSION_MINOR)
    return nullptr;
  return &api();
}

}  // extern "C"
