/*
 * The lmrt runtime C API: the one interface through which frontends, the
 * Python package and embedding applications generate text.
 *
 * A runtime is made from a deployment (YAML, docs/configuration.md): it loads
 * the model and the engine plugin, and runs the scheduler on a thread of its
 * own. Requests are submitted from any thread and produce a stream of events,
 * delivered to a callback or pulled with lmrt_runtime_next_event.
 *
 * Two ways in, same functions:
 *  - applications link liblmrt (or dlopen it, as the Python package does) and
 *    call the exported lmrt_* functions below;
 *  - frontend plugins, which never link liblmrt, get the same entries as the
 *    table lmrt_runtime_api in their lmrt_frontend_context.
 *
 * Ownership: statuses returned here are owned by the caller and released with
 * lmrt_status_release. Every pointer in an event is borrowed: valid during the
 * callback, or until the next lmrt_runtime_next_event / lmrt_runtime_release_request
 * for that request when pulling.
 */
#ifndef LMRT_RUNTIME_H
#define LMRT_RUNTIME_H

#include "lmrt/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(LMRT_BUILDING_CORE)
#define LMRT_API LMRT_EXPORT
#else
#define LMRT_API
#endif

typedef struct lmrt_runtime lmrt_runtime; /* opaque */

typedef struct lmrt_message {
  uint32_t struct_size;
  uint32_t reserved0;
  lmrt_str role;    /* "system", "user", "assistant" */
  lmrt_str content; /* UTF-8 text */
} lmrt_message;

/* Generation settings, LMDeploy's GenerationConfig. lmrt_gen_config_init fills
 * the defaults; set struct_size = sizeof(lmrt_gen_config) yourself otherwise. */
typedef struct lmrt_gen_config {
  uint32_t struct_size;
  uint32_t max_new_tokens;  /* 0: up to session_len */
  uint32_t min_new_tokens;  /* EOS and stop tokens are banned until this many */
  int32_t top_k;            /* <= 0: off */
  float temperature;        /* <= 0: greedy */
  float top_p;              /* >= 1: off */
  float min_p;              /* <= 0: off */
  float repetition_penalty; /* 1: off */
  float presence_penalty;   /* 0: off */
  float frequency_penalty;  /* 0: off */
  uint64_t seed;            /* used when has_seed; otherwise a fresh random seed */
  uint32_t has_seed;
  uint32_t ignore_eos;          /* 1: do not stop at EOS / template stop tokens */
  uint32_t skip_special_tokens; /* 1 (default): special tokens are not rendered into text */
  uint32_t logprobs;            /* 1: report each token's logprob */
  uint32_t top_logprobs;        /* alternatives per token, 0..LMRT_MAX_TOP_LOGPROBS */
  uint32_t num_stop_words;
  const lmrt_str* stop_words;   /* strings that end generation; not included in the text */
  uint32_t num_stop_token_ids;
  uint32_t reserved0;
  const int32_t* stop_token_ids; /* token ids that end generation, besides the model's */
} lmrt_gen_config;

typedef enum lmrt_input_kind {
  LMRT_INPUT_TEXT = 0,     /* `text` as is (no chat template); BOS per the tokenizer's rules */
  LMRT_INPUT_MESSAGES = 1, /* `messages` rendered by the deployment's chat template */
  LMRT_INPUT_TOKENS = 2    /* `tokens` as is */
} lmrt_input_kind;

typedef struct lmrt_request_params {
  uint32_t struct_size;
  uint32_t input_kind; /* lmrt_input_kind */
  lmrt_str text;
  uint32_t num_messages;
  uint32_t num_tokens;
  const lmrt_message* messages;
  const int32_t* tokens;
  const lmrt_gen_config* gen; /* NULL: defaults */
  /* Interactive sessions (LMDeploy's interactive mode): a non-zero session_id
   * whose previous request ended keeps its tokens and KV; the new input is
   * appended to that history. 0: a one-off request. */
  uint64_t session_id;
  uint32_t end_session; /* 1: forget the session's history after this request */
  uint32_t reserved0;
} lmrt_request_params;

typedef enum lmrt_event_kind {
  LMRT_EVENT_DELTA = 1,   /* new tokens and the text they complete */
  LMRT_EVENT_FINISHED = 2 /* the last event of a request; may carry a final delta */
} lmrt_event_kind;

typedef enum lmrt_finish_reason {
  LMRT_FINISH_NONE = 0,
  LMRT_FINISH_STOP = 1,      /* EOS, a stop token or a stop word */
  LMRT_FINISH_LENGTH = 2,    /* max_new_tokens or session_len */
  LMRT_FINISH_CANCELLED = 3, /* lmrt_runtime_cancel */
  LMRT_FINISH_ERROR = 4      /* see error_message */
} lmrt_finish_reason;

typedef struct lmrt_event {
  uint32_t struct_size;
  uint32_t kind; /* lmrt_event_kind */
  uint64_t request_id;
  lmrt_str text;                      /* newly complete UTF-8 text; never splits a character */
  uint32_t num_tokens;                /* new token ids */
  uint32_t finish_reason;             /* lmrt_finish_reason; set on FINISHED */
  const int32_t* tokens;
  const lmrt_token_logprobs* logprobs; /* num_tokens entries when the request asked; else NULL */
  lmrt_str error_message;             /* on LMRT_FINISH_ERROR, and a note on LENGTH by session_len */
  /* usage so far; final on FINISHED */
  uint32_t input_tokens;
  uint32_t output_tokens;
  uint32_t cached_tokens; /* input tokens whose KV came from the prefix cache */
  uint32_t reserved0;
  double queue_seconds; /* submit -> first scheduled */
  double first_token_seconds; /* submit -> first token */
  double total_seconds; /* submit -> this event */
} lmrt_event;

/* Called on the runtime's scheduler thread for every event of a request, in
 * order, ending with a FINISHED event. Must be quick and must not call
 * lmrt_runtime_destroy; it may call submit and cancel. */
typedef void (*lmrt_event_callback)(void* user, const lmrt_event* event);
typedef void (*lmrt_text_sink)(void* user, lmrt_str text);
typedef void (*lmrt_tokens_sink)(void* user, const int32_t* tokens, uint32_t num_tokens);

/* ---- statuses (any thread) ---- */
LMRT_API lmrt_status_code lmrt_status_get_code(const lmrt_status* status);
LMRT_API const char* lmrt_status_get_message(const lmrt_status* status);
LMRT_API void lmrt_status_release(lmrt_status* status);

/* Fills the defaults: temperature 0.8, top_p 1, top_k 0 (LMDeploy's defaults
 * are top_p 0.8, top_k 40 for chat: frontends set their own), min_p 0,
 * repetition_penalty 1, max_new_tokens 512, skip_special_tokens 1. */
LMRT_API void lmrt_gen_config_init(lmrt_gen_config* config);

/* Creates a runtime from deployment YAML. `origin` names the text in error
 * messages (a file path, or "<flags>"); relative paths in it resolve against
 * `base_dir` (NULL: the current directory). Loads the model and the engine:
 * slow. Threading: any thread. */
LMRT_API lmrt_status* lmrt_runtime_create(lmrt_str deployment_yaml, const char* origin, const char* base_dir,
                                          lmrt_runtime** out);
/* Cancels what runs, waits for the scheduler thread and frees everything.
 * NULL is a no-op. Not from a callback. */
LMRT_API void lmrt_runtime_destroy(lmrt_runtime* runtime);

/* Queues a request. With a callback, events go to it; with NULL, they are kept
 * for lmrt_runtime_next_event and the request must be released with
 * lmrt_runtime_release_request. Errors in the request (empty input, prompt over
 * session_len, bad values) are reported here when they can be known here.
 * Threading: any thread. */
LMRT_API lmrt_status* lmrt_runtime_submit(lmrt_runtime* runtime, const lmrt_request_params* params,
                                          lmrt_event_callback callback, void* user, uint64_t* out_request_id);
/* Waits up to timeout_ms (< 0: forever) for the next event of a pulled request.
 * Sets *got to 1 and fills *out when an event came, to 0 on time-out. After the
 * FINISHED event it keeps returning that FINISHED event until the
 * request is released; an unknown id is LMRT_STATUS_NOT_FOUND. Any thread, one caller per request. */
LMRT_API lmrt_status* lmrt_runtime_next_event(lmrt_runtime* runtime, uint64_t request_id, int32_t timeout_ms,
                                              lmrt_event* out, int32_t* got);
/* Forgets a pulled request (cancelling it if it still runs). */
LMRT_API void lmrt_runtime_release_request(lmrt_runtime* runtime, uint64_t request_id);
/* Asks a request to stop; its FINISHED event says CANCELLED. Unknown or
 * finished ids are a no-op. Its KV blocks are free within one step. Any thread. */
LMRT_API lmrt_status* lmrt_runtime_cancel(lmrt_runtime* runtime, uint64_t request_id);
/* Forgets an interactive session's history and frees its blocks. Any thread. */
LMRT_API lmrt_status* lmrt_runtime_end_session(lmrt_runtime* runtime, uint64_t session_id);

/* Tokenizer access (any thread). */
LMRT_API lmrt_status* lmrt_runtime_encode(lmrt_runtime* runtime, lmrt_str text, int32_t add_special_tokens,
                                          lmrt_tokens_sink sink, void* user);
LMRT_API lmrt_status* lmrt_runtime_decode(lmrt_runtime* runtime, const int32_t* tokens, uint32_t num_tokens,
                                          int32_t skip_special_tokens, lmrt_text_sink sink, void* user);
/* Renders messages with the chat template, ready to generate the assistant's turn. */
LMRT_API lmrt_status* lmrt_runtime_apply_chat_template(lmrt_runtime* runtime, const lmrt_message* messages,
                                                       uint32_t num_messages, lmrt_text_sink sink, void* user);

/* JSON documents (any thread): `info` describes the model and deployment
 * (model name, architecture, session_len, vocab, chat template, engine,
 * device); `stats` the engine (running, waiting, blocks used/free, prefix-cache
 * hit rate, tokens/s, request counters). Keys are documented in docs/runtime-api.md. */
LMRT_API lmrt_status* lmrt_runtime_info_json(lmrt_runtime* runtime, lmrt_text_sink sink, void* user);
LMRT_API lmrt_status* lmrt_runtime_stats_json(lmrt_runtime* runtime, lmrt_text_sink sink, void* user);

/* The same entries as a table, for frontend plugins (which must not link
 * liblmrt) and for loaders that prefer one symbol: lmrt_get_runtime_api. */
typedef struct lmrt_runtime_api {
  uint32_t struct_size;
  uint32_t abi_version;
  lmrt_status_code (*status_get_code)(const lmrt_status*);
  const char* (*status_get_message)(const lmrt_status*);
  void (*status_release)(lmrt_status*);
  void (*gen_config_init)(lmrt_gen_config*);
  lmrt_status* (*runtime_create)(lmrt_str, const char*, const char*, lmrt_runtime**);
  void (*runtime_destroy)(lmrt_runtime*);
  lmrt_status* (*submit)(lmrt_runtime*, const lmrt_request_params*, lmrt_event_callback, void*, uint64_t*);
  lmrt_status* (*next_event)(lmrt_runtime*, uint64_t, int32_t, lmrt_event*, int32_t*);
  void (*release_request)(lmrt_runtime*, uint64_t);
  lmrt_status* (*cancel)(lmrt_runtime*, uint64_t);
  lmrt_status* (*end_session)(lmrt_runtime*, uint64_t);
  lmrt_status* (*encode)(lmrt_runtime*, lmrt_str, int32_t, lmrt_tokens_sink, void*);
  lmrt_status* (*decode)(lmrt_runtime*, const int32_t*, uint32_t, int32_t, lmrt_text_sink, void*);
  lmrt_status* (*apply_chat_template)(lmrt_runtime*, const lmrt_message*, uint32_t, lmrt_text_sink, void*);
  lmrt_status* (*info_json)(lmrt_runtime*, lmrt_text_sink, void*);
  lmrt_status* (*stats_json)(lmrt_runtime*, lmrt_text_sink, void*);
} lmrt_runtime_api;

/* Returns the table for a caller built against `abi_version`, or NULL when the
 * majors differ or the caller's minor is newer than this library's. */
LMRT_API const lmrt_runtime_api* lmrt_get_runtime_api(uint32_t abi_version);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_RUNTIME_H */
