/*
 * The engine plugin kind (LMRT_PLUGIN_ENGINE): the normative contract between
 * the core and a device backend.
 *
 * Who does what (docs/architecture.md):
 *  - The core owns scheduling and KV *block accounting*: which physical blocks a
 *    sequence owns, prefix sharing, preemption. It never touches device memory.
 *  - The engine owns the device: weights, the KV pool (an array of blocks of
 *    `block_seq_len` token slots for every layer), and `step`, which runs one
 *    forward pass over a batch of sequences and samples on the device.
 *
 * Life of an engine:
 *   create(model, config) -> capacity(query) -> allocate_cache(num_blocks)
 *   -> step(batch) ... step(batch) -> destroy
 *
 * Semantics of a step, per sequence s:
 *  - KV entries for positions [0, s.start_pos) are already in s's blocks
 *    (written by earlier steps, or shared from another sequence by the core's
 *    prefix cache). The engine computes s.num_tokens new positions
 *    [start_pos, start_pos + num_tokens), writes their K/V into the blocks the
 *    block table names (block j holds positions [j*B, (j+1)*B), B =
 *    block_seq_len), and attends causally over [0, position].
 *  - If s.sampling is not NULL, the engine samples one token from the logits of
 *    the last new position and reports it; otherwise (a non-final prefill chunk)
 *    it reports token -1 and need not compute logits.
 *  - Results must not depend on which other sequences share the batch (batch
 *    invariance up to floating-point reduction order of the device's kernels;
 *    the cpu engine is exactly invariant).
 *  - The core never asks to write a block another running sequence also writes.
 *    Blocks shared through the prefix cache are only read.
 */
#ifndef LMRT_ENGINE_H
#define LMRT_ENGINE_H

#include "lmrt/abi.h"
#include "lmrt/host.h"
#include "lmrt/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lmrt_engine lmrt_engine; /* opaque, owned by the plugin */

typedef struct lmrt_engine_create_params {
  uint32_t struct_size;
  uint32_t reserved0;
  /* The deployment's `engine` section as YAML (keys documented in
   * docs/configuration.md: dtype, device, tp, quant_policy, max_batch_size, ...).
   * Borrowed for the call. */
  lmrt_str config_yaml;
  /* The model, borrowed for the call (model.h). */
  const lmrt_model_desc* model;
} lmrt_engine_create_params;

typedef struct lmrt_capacity_query {
  uint32_t struct_size;
  uint32_t block_seq_len;       /* tokens per KV block (cache_block_seq_len) */
  float cache_max_entry_count;  /* fraction (0, 1] of the device memory free after weights and
                                   workspace that the KV pool may take (LMDeploy's meaning) */
  uint32_t max_batch_size;      /* sequences per step, for workspace sizing */
  uint32_t max_step_tokens;     /* new tokens per step (all sequences), for workspace sizing */
  uint32_t max_session_len;     /* longest sequence, for workspace sizing */
} lmrt_capacity_query;

typedef struct lmrt_capacity {
  uint32_t struct_size;
  uint32_t num_blocks;   /* KV blocks that fit for the query */
  uint64_t block_bytes;  /* device bytes per block, all layers, K and V */
  uint64_t weight_bytes; /* device bytes the weights take */
  uint64_t free_bytes;   /* device bytes free after weights and workspace, before the pool */
  uint64_t total_bytes;  /* device memory in all */
  char device[LMRT_CAPS_TEXT]; /* what the engine runs on, e.g. "cuda:0 NVIDIA H100 80GB HBM3" */
} lmrt_capacity;

typedef struct lmrt_cache_config {
  uint32_t struct_size;
  uint32_t num_blocks;    /* blocks to allocate; <= the capacity reported for the same block_seq_len */
  uint32_t block_seq_len; /* must equal the one given to capacity */
} lmrt_cache_config;

/* How to pick the next token. The defaults (what a zeroed struct does not give:
 * set them) are temperature 1, top_p 1, top_k 0, min_p 0, penalties 1/0/0. */
typedef struct lmrt_sampling_params {
  uint32_t struct_size;
  float temperature;        /* <= 0: greedy (argmax, ties to the lowest id) */
  int32_t top_k;            /* <= 0: off */
  float top_p;              /* >= 1: off */
  float min_p;              /* <= 0: off; keeps tokens with p >= min_p * p_max */
  float repetition_penalty; /* 1: off; HF semantics over all of penalty_tokens */
  float presence_penalty;   /* 0: off; OpenAI semantics over the generated tokens */
  float frequency_penalty;  /* 0: off; OpenAI semantics over the generated tokens */
  /* Random stream: the uniform variate for the token at position p is a pure
   * function of (seed, p), so results do not depend on batching or preemption. */
  uint64_t seed;
  uint32_t top_logprobs;       /* alternatives to report, 0..LMRT_MAX_TOP_LOGPROBS */
  uint32_t num_penalty_tokens; /* length of penalty_tokens */
  /* The sequence so far (prompt then generated tokens); its last
   * num_generated entries are the generated ones. Borrowed for the step. */
  const int32_t* penalty_tokens;
  uint32_t num_generated;
  uint32_t num_banned_tokens;  /* length of banned_tokens */
  const int32_t* banned_tokens; /* tokens that must not be sampled this step (e.g. EOS before
                                   min_new_tokens); their logits are treated as -inf */
} lmrt_sampling_params;

typedef struct lmrt_step_seq {
  uint32_t struct_size;
  uint32_t num_tokens;    /* new tokens this step, >= 1 */
  uint64_t seq_id;        /* the core's id for the sequence, stable while it lives */
  const int32_t* tokens;  /* num_tokens ids, borrowed for the step */
  uint32_t start_pos;     /* position of tokens[0] */
  uint32_t num_blocks;    /* entries in block_table; covers start_pos + num_tokens positions */
  const int32_t* block_table; /* physical block ids in [0, cache num_blocks), borrowed */
  const lmrt_sampling_params* sampling; /* NULL: compute KV only, sample nothing */
} lmrt_step_seq;

/* lmrt_step_batch.flags (ABI 1.1). Hints: an engine that ignores them is correct. */
/* The core expects its next step to be exactly this batch's sequences, in the same
 * order, each with one new token: the one this step samples for it. The core sets
 * it only when nothing waits to be admitted, every sequence samples this step and
 * none reaches a length limit (max_new_tokens, session_len) with this token. The
 * next batch may still differ (a stop token or word, a request that arrives or is
 * cancelled meanwhile, preemption).
 *
 * An engine may start on its guess of that step before this one returns: it may
 * then write K/V only at each sequence's next position (start_pos + num_tokens), and
 * only where this step's block table already names that position's block (a block
 * this sequence writes and no other, one the core has not committed to the prefix
 * cache); it must order those writes before any work of later steps, and each
 * later step's results must be the ones it would give without the guess (within the
 * batch-invariance bound above). */
#define LMRT_STEP_NEXT_IS_DECODE 0x1u

typedef struct lmrt_step_batch {
  uint32_t struct_size;
  uint32_t num_seqs;
  const lmrt_step_seq* seqs; /* distinct seq_ids */
  /* Appended in ABI 1.1 (read only where struct_size covers it: LMRT_HAS_FIELD). */
  uint32_t flags;     /* LMRT_STEP_* hints; 0: none */
  uint32_t reserved0; /* 0 */
} lmrt_step_batch;

typedef struct lmrt_engine_api {
  uint32_t struct_size;
  uint32_t reserved0;

  /* Loads the model onto the device. On failure *out is untouched and the
   * status says what went wrong (for out-of-memory: how much was needed and how
   * much was free). Threading: any thread; the result is used from one thread at
   * a time. Ownership: the engine belongs to the caller until destroy. */
  lmrt_status* (*create)(const lmrt_host_api* host, const lmrt_engine_create_params* params,
                         lmrt_engine** out);

  /* Reports how many KV blocks fit for the query, after weights and workspace.
   * Allocates nothing. Threading: not concurrently with other calls on `engine`. */
  lmrt_status* (*capacity)(lmrt_engine* engine, const lmrt_capacity_query* query, lmrt_capacity* out);

  /* Allocates the KV pool, once, before the first step. Threading: as capacity. */
  lmrt_status* (*allocate_cache)(lmrt_engine* engine, const lmrt_cache_config* config);

  /* Runs one step (see the contract at the top). `outputs` has batch->num_seqs
   * entries, allocated by the caller with struct_size set; output i belongs to
   * seqs[i]. On error nothing is guaranteed about the KV of the sequences in the
   * batch (the core fails them) but the engine must stay usable for new
   * sequences where the device allows. Threading: one step at a time per engine;
   * blocks until the sampled ids are on the host. */
  lmrt_status* (*step)(lmrt_engine* engine, const lmrt_step_batch* batch, lmrt_token_logprobs* outputs);

  /* Frees everything the engine holds, device memory included. NULL is a no-op.
   * Threading: not concurrently with any other call on `engine`. */
  void (*destroy)(lmrt_engine* engine);
} lmrt_engine_api;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LMRT_ENGINE_H */
