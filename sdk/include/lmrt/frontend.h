/*
 * The frontend plugin kind (LMRT_PLUGIN_FRONTEND): talks to people or programs
 * (the terminal chat, the HTTP server, the API client) and reaches the model only
 * through the runtime API table it is handed.
 *
 * The host (the `lmrt` executable) picks the frontend a subcommand names,
 * creates a runtime from the deployment when the frontend needs one, installs
 * SIGINT/SIGTERM handlers, and calls `run` on its main thread.
 */
#ifndef LMRT_FRONTEND_H
#define LMRT_FRONTEND_H

#include "lmrt/abi.h"
#include "lmrt/host.h"
#include "lmrt/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmrt_frontend_context {
  uint32_t struct_size;
  uint32_t reserved0;
  const lmrt_host_api* host;
  const lmrt_runtime_api* runtime_api; /* always set */
  /* The deployment's runtime, created by the host before run when the
   * frontend's needs_runtime is 1; NULL otherwise. Owned by the host. */
  lmrt_runtime* runtime;
  /* The frontend's section of the deployment (frontends.<name>) as YAML,
   * borrowed for the duration of run. */
  lmrt_str config_yaml;
  /* How many SIGINT/SIGTERM the process has received so far (monotonic).
   * Blocking reads in the frontend are interrupted by these signals (EINTR).
   * A frontend compares counts to see a new one: the chat stops the current
   * answer, a server shuts down. */
  uint64_t (*interrupt_count)(void* host_context);
} lmrt_frontend_context;

typedef struct lmrt_frontend_api {
  uint32_t struct_size;
  /* 1: the host must create a runtime from the deployment before run (chat,
   * api_server); 0: the frontend needs none (api_client talks to a server). */
  uint32_t needs_runtime;
  /* Runs until the frontend is done (the user leaves, the server is told to
   * stop). Returns NULL for a clean exit. Threading: called once, on the
   * process's main thread; the frontend may start threads of its own and must
   * join them before returning. Ownership: ctx is borrowed for the call. */
  lmrt_status* (*run)(const lmrt_frontend_context* ctx);
} lmrt_frontend_api;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_FRONTEND_H */
