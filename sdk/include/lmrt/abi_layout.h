/*
 * Frozen layouts of the lmrt C ABI 1.x (LP64: Linux x86-64 and aarch64).
 *
 * Generated from the headers when 1.0 was released and checked by every build
 * of the host, the SDK and the plugins. A failing assert here means a change of
 * layout: that is a major version bump, or the change must be undone. A minor
 * version may only append fields (and asserts) at the end of a struct.
 */
#ifndef LMRT_ABI_LAYOUT_H
#define LMRT_ABI_LAYOUT_H

#include "lmrt/engine.h"
#include "lmrt/frontend.h"
#include "lmrt/host.h"
#include "lmrt/model.h"
#include "lmrt/runtime.h"

#if defined(__cplusplus)
#define LMRT_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define LMRT_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
#define LMRT_FROZEN_OFFSET(T, f, off) LMRT_STATIC_ASSERT(offsetof(T, f) == (off), #T "." #f " moved: ABI break")
#define LMRT_FROZEN_SIZE(T, n) LMRT_STATIC_ASSERT(sizeof(T) == (n), #T " changed size: ABI break")

#if UINTPTR_MAX == 0xffffffffffffffffu


LMRT_FROZEN_SIZE(lmrt_str, 16);
LMRT_FROZEN_OFFSET(lmrt_str, data, 0);
LMRT_FROZEN_OFFSET(lmrt_str, size, 8);

LMRT_FROZEN_SIZE(lmrt_token_logprobs, 176);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, token, 4);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, logprob, 8);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, num_top, 12);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, top_tokens, 16);
LMRT_FROZEN_OFFSET(lmrt_token_logprobs, top_logprobs, 96);

LMRT_FROZEN_SIZE(lmrt_capabilities, 1032);
LMRT_FROZEN_OFFSET(lmrt_capabilities, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_capabilities, score, 4);
LMRT_FROZEN_OFFSET(lmrt_capabilities, devices, 8);
LMRT_FROZEN_OFFSET(lmrt_capabilities, dtypes, 264);
LMRT_FROZEN_OFFSET(lmrt_capabilities, formats, 520);
LMRT_FROZEN_OFFSET(lmrt_capabilities, reason, 776);

LMRT_FROZEN_SIZE(lmrt_plugin_descriptor, 64);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, abi_version, 4);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, kind, 8);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, reserved0, 12);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, name, 16);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, version, 24);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, description, 32);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, api, 40);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, probe, 48);
LMRT_FROZEN_OFFSET(lmrt_plugin_descriptor, unload, 56);

LMRT_FROZEN_SIZE(lmrt_host_api, 80);
LMRT_FROZEN_OFFSET(lmrt_host_api, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_host_api, abi_version, 4);
LMRT_FROZEN_OFFSET(lmrt_host_api, host_context, 8);
LMRT_FROZEN_OFFSET(lmrt_host_api, status_create, 16);
LMRT_FROZEN_OFFSET(lmrt_host_api, status_code, 24);
LMRT_FROZEN_OFFSET(lmrt_host_api, status_message, 32);
LMRT_FROZEN_OFFSET(lmrt_host_api, status_release, 40);
LMRT_FROZEN_OFFSET(lmrt_host_api, log, 48);
LMRT_FROZEN_OFFSET(lmrt_host_api, log_level, 56);
LMRT_FROZEN_OFFSET(lmrt_host_api, config_section, 64);
LMRT_FROZEN_OFFSET(lmrt_host_api, find_plugin, 72);

LMRT_FROZEN_SIZE(lmrt_tensor_view, 72);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, dtype, 4);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, name, 8);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, ndim, 16);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, reserved0, 20);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, shape, 24);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, data, 56);
LMRT_FROZEN_OFFSET(lmrt_tensor_view, nbytes, 64);

LMRT_FROZEN_SIZE(lmrt_model_desc, 104);
LMRT_FROZEN_OFFSET(lmrt_model_desc, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_model_desc, reserved0, 4);
LMRT_FROZEN_OFFSET(lmrt_model_desc, architecture, 8);
LMRT_FROZEN_OFFSET(lmrt_model_desc, format, 16);
LMRT_FROZEN_OFFSET(lmrt_model_desc, vocab_size, 24);
LMRT_FROZEN_OFFSET(lmrt_model_desc, hidden_size, 28);
LMRT_FROZEN_OFFSET(lmrt_model_desc, intermediate_size, 32);
LMRT_FROZEN_OFFSET(lmrt_model_desc, num_layers, 36);
LMRT_FROZEN_OFFSET(lmrt_model_desc, num_heads, 40);
LMRT_FROZEN_OFFSET(lmrt_model_desc, num_kv_heads, 44);
LMRT_FROZEN_OFFSET(lmrt_model_desc, head_dim, 48);
LMRT_FROZEN_OFFSET(lmrt_model_desc, has_qkv_bias, 52);
LMRT_FROZEN_OFFSET(lmrt_model_desc, tie_word_embeddings, 56);
LMRT_FROZEN_OFFSET(lmrt_model_desc, rope_scaling_type, 60);
LMRT_FROZEN_OFFSET(lmrt_model_desc, rms_norm_eps, 64);
LMRT_FROZEN_OFFSET(lmrt_model_desc, rope_theta, 68);
LMRT_FROZEN_OFFSET(lmrt_model_desc, rope_scaling_factor, 72);
LMRT_FROZEN_OFFSET(lmrt_model_desc, original_max_position_embeddings, 76);
LMRT_FROZEN_OFFSET(lmrt_model_desc, weight_dtype, 80);
LMRT_FROZEN_OFFSET(lmrt_model_desc, quant_group_size, 84);
LMRT_FROZEN_OFFSET(lmrt_model_desc, num_tensors, 88);
LMRT_FROZEN_OFFSET(lmrt_model_desc, reserved1, 92);
LMRT_FROZEN_OFFSET(lmrt_model_desc, tensors, 96);

LMRT_FROZEN_SIZE(lmrt_engine_create_params, 32);
LMRT_FROZEN_OFFSET(lmrt_engine_create_params, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_engine_create_params, reserved0, 4);
LMRT_FROZEN_OFFSET(lmrt_engine_create_params, config_yaml, 8);
LMRT_FROZEN_OFFSET(lmrt_engine_create_params, model, 24);

LMRT_FROZEN_SIZE(lmrt_capacity_query, 24);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, block_seq_len, 4);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, cache_max_entry_count, 8);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, max_batch_size, 12);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, max_step_tokens, 16);
LMRT_FROZEN_OFFSET(lmrt_capacity_query, max_session_len, 20);

LMRT_FROZEN_SIZE(lmrt_capacity, 296);
LMRT_FROZEN_OFFSET(lmrt_capacity, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_capacity, num_blocks, 4);
LMRT_FROZEN_OFFSET(lmrt_capacity, block_bytes, 8);
LMRT_FROZEN_OFFSET(lmrt_capacity, weight_bytes, 16);
LMRT_FROZEN_OFFSET(lmrt_capacity, free_bytes, 24);
LMRT_FROZEN_OFFSET(lmrt_capacity, total_bytes, 32);
LMRT_FROZEN_OFFSET(lmrt_capacity, device, 40);

LMRT_FROZEN_SIZE(lmrt_cache_config, 12);
LMRT_FROZEN_OFFSET(lmrt_cache_config, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_cache_config, num_blocks, 4);
LMRT_FROZEN_OFFSET(lmrt_cache_config, block_seq_len, 8);

LMRT_FROZEN_SIZE(lmrt_sampling_params, 72);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, temperature, 4);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, top_k, 8);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, top_p, 12);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, min_p, 16);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, repetition_penalty, 20);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, presence_penalty, 24);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, frequency_penalty, 28);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, seed, 32);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, top_logprobs, 40);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, num_penalty_tokens, 44);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, penalty_tokens, 48);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, num_generated, 56);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, num_banned_tokens, 60);
LMRT_FROZEN_OFFSET(lmrt_sampling_params, banned_tokens, 64);

LMRT_FROZEN_SIZE(lmrt_step_seq, 48);
LMRT_FROZEN_OFFSET(lmrt_step_seq, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_step_seq, num_tokens, 4);
LMRT_FROZEN_OFFSET(lmrt_step_seq, seq_id, 8);
LMRT_FROZEN_OFFSET(lmrt_step_seq, tokens, 16);
LMRT_FROZEN_OFFSET(lmrt_step_seq, start_pos, 24);
LMRT_FROZEN_OFFSET(lmrt_step_seq, num_blocks, 28);
LMRT_FROZEN_OFFSET(lmrt_step_seq, block_table, 32);
LMRT_FROZEN_OFFSET(lmrt_step_seq, sampling, 40);

LMRT_FROZEN_SIZE(lmrt_step_batch, 24); /* 16 in 1.0; 1.1 appended flags */
LMRT_FROZEN_OFFSET(lmrt_step_batch, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_step_batch, num_seqs, 4);
LMRT_FROZEN_OFFSET(lmrt_step_batch, seqs, 8);
LMRT_FROZEN_OFFSET(lmrt_step_batch, flags, 16); /* 1.1 */
LMRT_FROZEN_OFFSET(lmrt_step_batch, reserved0, 20); /* 1.1 */

LMRT_FROZEN_SIZE(lmrt_engine_api, 48);
LMRT_FROZEN_OFFSET(lmrt_engine_api, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_engine_api, reserved0, 4);
LMRT_FROZEN_OFFSET(lmrt_engine_api, create, 8);
LMRT_FROZEN_OFFSET(lmrt_engine_api, capacity, 16);
LMRT_FROZEN_OFFSET(lmrt_engine_api, allocate_cache, 24);
LMRT_FROZEN_OFFSET(lmrt_engine_api, step, 32);
LMRT_FROZEN_OFFSET(lmrt_engine_api, destroy, 40);

LMRT_FROZEN_SIZE(lmrt_message, 40);
LMRT_FROZEN_OFFSET(lmrt_message, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_message, reserved0, 4);
LMRT_FROZEN_OFFSET(lmrt_message, role, 8);
LMRT_FROZEN_OFFSET(lmrt_message, content, 24);

LMRT_FROZEN_SIZE(lmrt_gen_config, 96);
LMRT_FROZEN_OFFSET(lmrt_gen_config, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_gen_config, max_new_tokens, 4);
LMRT_FROZEN_OFFSET(lmrt_gen_config, min_new_tokens, 8);
LMRT_FROZEN_OFFSET(lmrt_gen_config, top_k, 12);
LMRT_FROZEN_OFFSET(lmrt_gen_config, temperature, 16);
LMRT_FROZEN_OFFSET(lmrt_gen_config, top_p, 20);
LMRT_FROZEN_OFFSET(lmrt_gen_config, min_p, 24);
LMRT_FROZEN_OFFSET(lmrt_gen_config, repetition_penalty, 28);
LMRT_FROZEN_OFFSET(lmrt_gen_config, presence_penalty, 32);
LMRT_FROZEN_OFFSET(lmrt_gen_config, frequency_penalty, 36);
LMRT_FROZEN_OFFSET(lmrt_gen_config, seed, 40);
LMRT_FROZEN_OFFSET(lmrt_gen_config, has_seed, 48);
LMRT_FROZEN_OFFSET(lmrt_gen_config, ignore_eos, 52);
LMRT_FROZEN_OFFSET(lmrt_gen_config, skip_special_tokens, 56);
LMRT_FROZEN_OFFSET(lmrt_gen_config, logprobs, 60);
LMRT_FROZEN_OFFSET(lmrt_gen_config, top_logprobs, 64);
LMRT_FROZEN_OFFSET(lmrt_gen_config, num_stop_words, 68);
LMRT_FROZEN_OFFSET(lmrt_gen_config, stop_words, 72);
LMRT_FROZEN_OFFSET(lmrt_gen_config, num_stop_token_ids, 80);
LMRT_FROZEN_OFFSET(lmrt_gen_config, reserved0, 84);
LMRT_FROZEN_OFFSET(lmrt_gen_config, stop_token_ids, 88);

LMRT_FROZEN_SIZE(lmrt_request_params, 72);
LMRT_FROZEN_OFFSET(lmrt_request_params, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_request_params, input_kind, 4);
LMRT_FROZEN_OFFSET(lmrt_request_params, text, 8);
LMRT_FROZEN_OFFSET(lmrt_request_params, num_messages, 24);
LMRT_FROZEN_OFFSET(lmrt_request_params, num_tokens, 28);
LMRT_FROZEN_OFFSET(lmrt_request_params, messages, 32);
LMRT_FROZEN_OFFSET(lmrt_request_params, tokens, 40);
LMRT_FROZEN_OFFSET(lmrt_request_params, gen, 48);
LMRT_FROZEN_OFFSET(lmrt_request_params, session_id, 56);
LMRT_FROZEN_OFFSET(lmrt_request_params, end_session, 64);
LMRT_FROZEN_OFFSET(lmrt_request_params, reserved0, 68);

LMRT_FROZEN_SIZE(lmrt_event, 112);
LMRT_FROZEN_OFFSET(lmrt_event, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_event, kind, 4);
LMRT_FROZEN_OFFSET(lmrt_event, request_id, 8);
LMRT_FROZEN_OFFSET(lmrt_event, text, 16);
LMRT_FROZEN_OFFSET(lmrt_event, num_tokens, 32);
LMRT_FROZEN_OFFSET(lmrt_event, finish_reason, 36);
LMRT_FROZEN_OFFSET(lmrt_event, tokens, 40);
LMRT_FROZEN_OFFSET(lmrt_event, logprobs, 48);
LMRT_FROZEN_OFFSET(lmrt_event, error_message, 56);
LMRT_FROZEN_OFFSET(lmrt_event, input_tokens, 72);
LMRT_FROZEN_OFFSET(lmrt_event, output_tokens, 76);
LMRT_FROZEN_OFFSET(lmrt_event, cached_tokens, 80);
LMRT_FROZEN_OFFSET(lmrt_event, reserved0, 84);
LMRT_FROZEN_OFFSET(lmrt_event, queue_seconds, 88);
LMRT_FROZEN_OFFSET(lmrt_event, first_token_seconds, 96);
LMRT_FROZEN_OFFSET(lmrt_event, total_seconds, 104);

LMRT_FROZEN_SIZE(lmrt_runtime_api, 136);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, abi_version, 4);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, status_get_code, 8);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, status_get_message, 16);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, status_release, 24);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, gen_config_init, 32);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, runtime_create, 40);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, runtime_destroy, 48);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, submit, 56);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, next_event, 64);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, release_request, 72);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, cancel, 80);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, end_session, 88);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, encode, 96);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, decode, 104);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, apply_chat_template, 112);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, info_json, 120);
LMRT_FROZEN_OFFSET(lmrt_runtime_api, stats_json, 128);

LMRT_FROZEN_SIZE(lmrt_frontend_context, 56);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, reserved0, 4);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, host, 8);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, runtime_api, 16);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, runtime, 24);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, config_yaml, 32);
LMRT_FROZEN_OFFSET(lmrt_frontend_context, interrupt_count, 48);

LMRT_FROZEN_SIZE(lmrt_frontend_api, 16);
LMRT_FROZEN_OFFSET(lmrt_frontend_api, struct_size, 0);
LMRT_FROZEN_OFFSET(lmrt_frontend_api, needs_runtime, 4);
LMRT_FROZEN_OFFSET(lmrt_frontend_api, run, 8);

#endif /* LP64 */

#endif /* LMRT_ABI_LAYOUT_H */
