/*
 * lmrt plugin ABI: the base types every plugin and host share.
 *
 * This header is C (C99 and C++11 compatible) and is the only thing a plugin needs
 * in order to be discovered: one exported bootstrap symbol (LMRT_PLUGIN_ENTRY)
 * that fills an lmrt_plugin_descriptor. Kind-specific function tables live in
 * engine.h and frontend.h; the host's table in host.h; the model description an
 * engine receives in model.h; the runtime API frontends and applications use in
 * runtime.h.
 *
 * Rules (see docs/architecture.md, "The C ABI"):
 *  - Versioning: major.minor, packed as (major << 16) | minor. Majors must match;
 *    a host accepts plugins built against its minor or a lower one. A minor bump
 *    only appends fields or table entries; any change of meaning or layout is a
 *    major bump. Released layouts are frozen by the static asserts in
 *    abi_layout.h.
 *  - Every struct that crosses the boundary starts with uint32_t struct_size,
 *    set by whoever allocates it. A reader must check struct_size before it
 *    touches a field that a later minor version appended.
 *  - Optional function-table entries may be NULL; each says what NULL means.
 *  - Errors are lmrt_status pointers: NULL means success. Statuses are created
 *    and released only through the host (lmrt_host_api.status_*) or, for
 *    applications, through the runtime API (runtime.h). No exception, C++ type or
 *    allocator crosses the boundary; every entry point is noexcept in effect.
 *  - Strings are UTF-8. Where a length is given, the bytes need not be
 *    NUL-terminated; where a `const char*` has no length it is NUL-terminated.
 */
#ifndef LMRT_ABI_H
#define LMRT_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- versions */

#define LMRT_ABI_VERSION_MAJOR 1
#define LMRT_ABI_VERSION_MINOR 1
#define LMRT_MAKE_VERSION(major, minor) ((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor)&0xffffu)))
#define LMRT_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define LMRT_VERSION_MINOR(v) ((uint32_t)(v)&0xffffu)
#define LMRT_ABI_VERSION LMRT_MAKE_VERSION(LMRT_ABI_VERSION_MAJOR, LMRT_ABI_VERSION_MINOR)

/* Symbol visibility for the one symbol a plugin exports. Plugins are built with
 * hidden visibility by default (-fvisibility=hidden). */
#if defined(_WIN32)
#define LMRT_EXPORT __declspec(dllexport)
#else
#define LMRT_EXPORT __attribute__((visibility("default")))
#endif

/* ---------------------------------------------------------------- statuses */

/* Opaque error object. NULL is success. Created by lmrt_host_api.status_create
 * (plugins) and released by lmrt_host_api.status_release or
 * lmrt_status_release (runtime.h); both are the host's allocator. */
typedef struct lmrt_status lmrt_status;

typedef enum lmrt_status_code {
  LMRT_STATUS_OK = 0,
  LMRT_STATUS_INVALID_ARGUMENT = 1, /* the caller passed something malformed or out of range */
  LMRT_STATUS_NOT_FOUND = 2,        /* a file, plugin, tensor, request or key does not exist */
  LMRT_STATUS_ALREADY_EXISTS = 3,   /* e.g. a request id that is in use */
  LMRT_STATUS_OUT_OF_MEMORY = 4,    /* host or device memory exhausted */
  LMRT_STATUS_UNSUPPORTED = 5,      /* valid but not supported by this build/plugin/device */
  LMRT_STATUS_ABI_MISMATCH = 6,     /* incompatible ABI versions or struct sizes */
  LMRT_STATUS_CANCELLED = 7,        /* the operation was cancelled by a caller */
  LMRT_STATUS_DEVICE_ERROR = 8,     /* the device failed (CUDA error, lost device) */
  LMRT_STATUS_CAPACITY = 9,         /* a limit was reached (KV blocks, queue, session length) */
  LMRT_STATUS_IO_ERROR = 10,        /* reading or writing a file or socket failed */
  LMRT_STATUS_MODEL_ERROR = 11,     /* a model file is malformed or inconsistent */
  LMRT_STATUS_CONFIG_ERROR = 12,    /* a deployment config is malformed or invalid */
  LMRT_STATUS_INTERNAL = 13         /* a bug: an invariant did not hold */
} lmrt_status_code;

/* ------------------------------------------------------------ plain values */

/* A borrowed UTF-8 byte range; not necessarily NUL-terminated. */
typedef struct lmrt_str {
  const char* data;
  uint64_t size;
} lmrt_str;

typedef enum lmrt_log_level {
  LMRT_LOG_TRACE = 0,
  LMRT_LOG_DEBUG = 1,
  LMRT_LOG_INFO = 2,
  LMRT_LOG_WARN = 3,
  LMRT_LOG_ERROR = 4,
  LMRT_LOG_CRITICAL = 5,
  LMRT_LOG_OFF = 6
} lmrt_log_level;

/* Element types of tensors that cross the ABI (model.h). Values are frozen. */
typedef enum lmrt_dtype {
  LMRT_DTYPE_F32 = 0,
  LMRT_DTYPE_F16 = 1,
  LMRT_DTYPE_BF16 = 2,
  LMRT_DTYPE_I32 = 3,
  LMRT_DTYPE_I8 = 4,
  LMRT_DTYPE_U8 = 5,
  LMRT_DTYPE_I64 = 6
} lmrt_dtype;

/* The sampled token of one step and, optionally, its most likely alternatives.
 * Used by engine steps (engine.h) and by runtime events (runtime.h). */
#define LMRT_MAX_TOP_LOGPROBS 20
typedef struct lmrt_token_logprobs {
  uint32_t struct_size;
  int32_t token;   /* the sampled token id; -1 where nothing was sampled */
  float logprob;   /* log-softmax of the model's raw logits at `token` */
  uint32_t num_top; /* entries used in the arrays below (<= LMRT_MAX_TOP_LOGPROBS) */
  int32_t top_tokens[LMRT_MAX_TOP_LOGPROBS]; /* most likely first */
  float top_logprobs[LMRT_MAX_TOP_LOGPROBS];
} lmrt_token_logprobs;

/* ------------------------------------------------------------ plugin kinds */

/* Kinds of plugin. 1.0 defines FRONTEND and ENGINE; the values reserved below
 * are added by later minor versions with their own tables. A host rejects a
 * kind it does not know with a clear error. */
typedef enum lmrt_plugin_kind {
  LMRT_PLUGIN_FRONTEND = 1, /* talks to people or programs; table: lmrt_frontend_api (frontend.h) */
  LMRT_PLUGIN_ENGINE = 2,   /* owns a device and runs model steps; table: lmrt_engine_api (engine.h) */
  LMRT_PLUGIN_LINEAR_OP = 3,   /* reserved: linear-layer provider (fp16, AWQ int4) */
  LMRT_PLUGIN_KV_CACHE_OP = 4, /* reserved: KV-cache format provider (fp16, int8, int4) */
  LMRT_PLUGIN_VISION = 5       /* reserved: image encoder producing embeddings */
} lmrt_plugin_kind;

/* ------------------------------------------------------------ capabilities */

#define LMRT_CAPS_TEXT 256

/* What a plugin can do on this machine, filled by lmrt_plugin_descriptor.probe
 * before any heavy work. Fixed-size text fields so nothing needs freeing; each
 * is a NUL-terminated UTF-8 string, truncated if longer. */
typedef struct lmrt_capabilities {
  uint32_t struct_size;
  /* 0 = not usable here (say why in `reason`); otherwise higher is preferred
   * when a deployment asks for `backend: auto`. Conventions: cpu engine 10,
   * GPU engines 100. */
  uint32_t score;
  char devices[LMRT_CAPS_TEXT]; /* e.g. "cpu (2 threads)" or "cuda:0 NVIDIA H100 80GB HBM3 (sm_90)" */
  char dtypes[LMRT_CAPS_TEXT];  /* comma-separated: "float32,float16,bfloat16" */
  char formats[LMRT_CAPS_TEXT]; /* comma-separated model formats: "hf,awq" */
  char reason[LMRT_CAPS_TEXT];  /* when score == 0: why not */
} lmrt_capabilities;

/* ------------------------------------------------------- bootstrap/descriptor */

struct lmrt_host_api; /* host.h */

/* Probe: report capabilities for a request. `request_yaml` is the deployment's
 * section for this plugin (serialized YAML, may be empty) plus, for engines, the
 * keys model.format and model.dtype the deployment asks for. `out` is allocated by
 * the host with struct_size set; the plugin fills what it knows.
 * Threading: may be called from any thread, never concurrently for one plugin. */
typedef lmrt_status* (*lmrt_probe_fn)(const struct lmrt_host_api* host, lmrt_str request_yaml,
                                      lmrt_capabilities* out);

/* Filled by the plugin's bootstrap function. The host allocates it, zeroes it
 * and sets struct_size; the plugin writes only fields that fit in struct_size.
 * Every pointer the plugin stores here must stay valid until the plugin is
 * unloaded (static storage is the normal choice). */
typedef struct lmrt_plugin_descriptor {
  uint32_t struct_size;
  uint32_t abi_version;        /* LMRT_ABI_VERSION the plugin was compiled against */
  uint32_t kind;               /* lmrt_plugin_kind */
  uint32_t reserved0;          /* must be 0 */
  const char* name;            /* unique plugin name, e.g. "cpu", "turbomind-cuda-fp16" */
  const char* version;         /* the plugin's own version, e.g. "0.1.0" */
  const char* description;     /* one line for `lmrt plugins list` */
  const void* api;             /* the kind's function table (e.g. const lmrt_engine_api*) */
  lmrt_probe_fn probe;         /* optional: NULL means score 1, devices "unknown" */
  void (*unload)(void);        /* optional: called once before the host unloads the module */
} lmrt_plugin_descriptor;

/* The bootstrap function, exported under the name LMRT_PLUGIN_ENTRY_NAME.
 * `host` lives until the plugin is unloaded. `host_abi_version` is the host's
 * LMRT_ABI_VERSION; a plugin that needs a newer minor than the host's returns an
 * LMRT_STATUS_ABI_MISMATCH status. Called once per load, on the loading thread.
 * Must not do heavy work (no device initialisation): that belongs to probe/create. */
typedef lmrt_status* (*lmrt_plugin_init_fn)(const struct lmrt_host_api* host, uint32_t host_abi_version,
                                            lmrt_plugin_descriptor* out);

#define LMRT_PLUGIN_ENTRY lmrt_plugin_init
#define LMRT_PLUGIN_ENTRY_NAME "lmrt_plugin_init"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_ABI_H */
