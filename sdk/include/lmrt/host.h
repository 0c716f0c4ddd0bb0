/*
 * The host table: what the lmrt host gives every plugin.
 *
 * A plugin never links against liblmrt (the host); everything it needs from the
 * host comes through this table, handed to its bootstrap function. The table and
 * everything it points to live until the plugin is unloaded.
 */
#ifndef LMRT_HOST_H
#define LMRT_HOST_H

#include "lmrt/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives a string the host lends for the duration of the call only. */
typedef void (*lmrt_str_sink)(void* user, lmrt_str text);

typedef struct lmrt_host_api {
  uint32_t struct_size;
  uint32_t abi_version; /* the host's LMRT_ABI_VERSION */
  void* host_context;   /* opaque; pass it back as `ctx` where an entry asks for it */

  /* ---- statuses (thread-safe, any thread) ---- */

  /* Creates a status. `message` is copied. Never returns NULL for a code other
   * than LMRT_STATUS_OK (it returns NULL for LMRT_STATUS_OK). If memory runs out
   * it returns a static out-of-memory status that status_release ignores. */
  lmrt_status* (*status_create)(lmrt_status_code code, lmrt_str message);
  /* The code; LMRT_STATUS_OK for NULL. */
  lmrt_status_code (*status_code)(const lmrt_status* status);
  /* The message, NUL-terminated, owned by the status (valid until released);
   * "" for NULL. */
  const char* (*status_message)(const lmrt_status* status);
  /* Releases a status; NULL is a no-op. The receiver of a status owns it: a
   * plugin that receives one from the host and does not return it must release it. */
  void (*status_release)(lmrt_status* status);

  /* ---- logging (thread-safe, any thread) ---- */

  /* Writes a log line attributed to `source` (the plugin's name). The message is
   * copied. Lines below the host's level are dropped cheaply. */
  void (*log)(void* ctx, lmrt_log_level level, const char* source, lmrt_str message);
  /* The current minimum level, so a plugin can skip formatting what would be dropped. */
  lmrt_log_level (*log_level)(void* ctx);

  /* ---- configuration (thread-safe, any thread) ---- */

  /* Lends the YAML text of a section of the active deployment to `sink`, e.g.
   * "engine", "model", "frontends.http-server". An absent section yields an empty
   * string, not an error. Returns LMRT_STATUS_NOT_FOUND only when no deployment is
   * active. */
  lmrt_status* (*config_section)(void* ctx, const char* path, lmrt_str_sink sink, void* user);

  /* ---- other plugins (thread-safe; may load a plugin, so not from a step) ---- */

  /* Finds a plugin by name and kind, loading it if needed, and returns its
   * descriptor (borrowed: valid while the host lives). Use it to reach another
   * plugin's table, e.g. an engine looking up an op provider.
   * LMRT_STATUS_NOT_FOUND names the places searched. */
  lmrt_status* (*find_plugin)(void* ctx, const char* name, lmrt_plugin_kind kind,
                              const lmrt_plugin_descriptor** out);
} lmrt_host_api;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_HOST_H */
