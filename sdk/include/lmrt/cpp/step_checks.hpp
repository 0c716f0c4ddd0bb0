// The checks an engine makes of everything a step receives before any of it is computed, so that a bad request
// changes nothing and the engine stays usable (header-only). Every engine of this repository runs them, so a
// malformed step gets the same message from each but for the engine's name in front.
//
// Both throw lmrt::plugin::Error with LMRT_STATUS_INVALID_ARGUMENT and a message "<engine>: ..." that names the
// sequence (its seq_id and batch index) and the field at fault.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"

namespace lmrt::checks {

// What the engine can take: ids below vocab_size, blocks below cache_blocks (0 until the KV pool is allocated),
// block_seq_len positions a block.
struct StepLimits {
  uint32_t vocab_size;
  uint32_t cache_blocks;
  uint32_t block_seq_len;
};

namespace detail {

[[noreturn]] inline void invalid(const char* engine, const std::string& message) {
  throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(engine) + ": " + message);
}

inline std::string seq_name(const lmrt_step_seq& s, uint32_t index) {
  return "sequence " + std::to_string(s.seq_id) + " (batch index " + std::to_string(index) + ")";
}

}  // namespace detail

// One sequence's sampling parameters against a vocabulary of `vocab` ids: finite values in range, penalty and
// banned ids inside the vocabulary, at least one token left unbanned.
inline void validate_sampling_params(const char* engine, const lmrt_sampling_params& p, uint32_t vocab,
                                     uint64_t seq_id) {
  auto invalid = [&](const std::string& what) {
    detail::invalid(engine, "sequence " + std::to_string(seq_id) + ": sampling." + what);
  };
  if (p.struct_size < sizeof(lmrt_sampling_params))
    invalid("struct_size is " + std::to_string(p.struct_size) + ", expected at least " +
            std::to_string(sizeof(lmrt_sampling_params)));
  if (!std::isfinite(p.temperature)) invalid("temperature is not finite");
  if (std::isnan(p.top_p) || p.top_p <= 0.f) invalid("top_p must be in (0, 1] (>= 1 turns it off)");
  if (std::isnan(p.min_p) || p.min_p > 1.f) invalid("min_p must be <= 1 (<= 0 turns it off)");
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.f)
    invalid("repetition_penalty must be a finite number > 0 (1 turns it off)");
  if (!std::isfinite(p.presence_penalty)) invalid("presence_penalty is not finite");
  if (!std::isfinite(p.frequency_penalty)) invalid("frequency_penalty is not finite");
  if (p.top_logprobs > LMRT_MAX_TOP_LOGPROBS)
    invalid("top_logprobs is " + std::to_string(p.top_logprobs) + ", at most " +
            std::to_string(LMRT_MAX_TOP_LOGPROBS));
  if (p.num_penalty_tokens > 0 && p.penalty_tokens == nullptr) invalid("penalty_tokens is NULL");
  for (uint32_t i = 0; i < p.num_penalty_tokens; ++i)
    if (p.penalty_tokens[i] < 0 || static_cast<uint32_t>(p.penalty_tokens[i]) >= vocab)
      invalid("penalty_tokens[" + std::to_string(i) + "] = " + std::to_string(p.penalty_tokens[i]) +
              " is outside [0, " + std::to_string(vocab) + ")");
  if (p.num_generated > p.num_penalty_tokens)
    invalid("num_generated (" + std::to_string(p.num_generated) + ") exceeds num_penalty_tokens (" +
            std::to_string(p.num_penalty_tokens) + ")");
  if (p.num_banned_tokens > 0 && p.banned_tokens == nullptr) invalid("banned_tokens is NULL");
  std::vector<bool> banned(p.num_banned_tokens > 0 ? vocab : 0, false);
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < p.num_banned_tokens; ++i) {
    const int32_t t = p.banned_tokens[i];
    if (t < 0 || static_cast<uint32_t>(t) >= vocab)
      invalid("banned_tokens[" + std::to_string(i) + "] = " + std::to_string(t) + " is outside [0, " +
              std::to_string(vocab) + ")");
    if (!banned[t]) banned[t] = true, ++distinct;
  }
  if (distinct == vocab) invalid("banned_tokens bans every token of the vocabulary");
}

// A whole step: the batch and output structs, each sequence's ids, positions and block table (inside the pool,
// enough blocks for its positions, no block written by two sequences of the step) and its sampling parameters.
inline void validate_step(const char* engine, const lmrt_step_batch* batch, const lmrt_token_logprobs* outputs,
                          const StepLimits& limits) {
  auto invalid = [&](const std::string& message) { detail::invalid(engine, message); };
  if (batch == nullptr) invalid("step: batch is NULL");
  // A 1.0 batch ends before flags (hints, read through LMRT_HAS_FIELD where an engine uses them).
  if (batch->struct_size < offsetof(lmrt_step_batch, flags))
    invalid("step: batch.struct_size is " + std::to_string(batch->struct_size) + ", expected at least " +
            std::to_string(offsetof(lmrt_step_batch, flags)));
  if (batch->num_seqs == 0) return;
  if (batch->seqs == nullptr) invalid("step: batch.seqs is NULL");
  if (outputs == nullptr) invalid("step: outputs is NULL");
  if (limits.cache_blocks == 0) invalid("step: the KV cache is not allocated (call allocate_cache first)");

  const uint64_t B = limits.block_seq_len;
  std::unordered_map<uint64_t, uint32_t> seq_ids;
  std::unordered_map<int32_t, uint32_t> written_by;  // block id -> batch index that writes it
  for (uint32_t i = 0; i < batch->num_seqs; ++i) {
    const lmrt_step_seq& s = batch->seqs[i];
    if (s.struct_size < sizeof(lmrt_step_seq))
      invalid("batch index " + std::to_string(i) + ": struct_size is " + std::to_string(s.struct_size) +
              ", expected at least " + std::to_string(sizeof(lmrt_step_seq)));
    const std::string name = detail::seq_name(s, i);
    if (outputs[i].struct_size < sizeof(lmrt_token_logprobs))
      invalid(name + ": outputs[" + std::to_string(i) + "].struct_size is " + std::to_string(outputs[i].struct_size) +
              ", expected at least " + std::to_string(sizeof(lmrt_token_logprobs)));
    if (auto [it, fresh] = seq_ids.emplace(s.seq_id, i); !fresh)
      invalid(name + ": seq_id is also used by batch index " + std::to_string(it->second));
    if (s.num_tokens < 1) invalid(name + ": num_tokens is 0 (must be >= 1)");
    if (s.tokens == nullptr) invalid(name + ": tokens is NULL");
    for (uint32_t t = 0; t < s.num_tokens; ++t)
      if (s.tokens[t] < 0 || static_cast<uint32_t>(s.tokens[t]) >= limits.vocab_size)
        invalid(name + ": tokens[" + std::to_string(t) + "] = " + std::to_string(s.tokens[t]) + " is outside [0, " +
                std::to_string(limits.vocab_size) + ")");
    const uint64_t end = static_cast<uint64_t>(s.start_pos) + s.num_tokens;
    if (end > static_cast<uint64_t>(s.num_blocks) * B)
      invalid(name + ": block_table has " + std::to_string(s.num_blocks) + " blocks of " + std::to_string(B) +
              " positions, too few for start_pos + num_tokens = " + std::to_string(end));
    if (s.block_table == nullptr) invalid(name + ": block_table is NULL");
    for (uint32_t j = 0; j < s.num_blocks; ++j)
      if (s.block_table[j] < 0 || static_cast<uint32_t>(s.block_table[j]) >= limits.cache_blocks)
        invalid(name + ": block_table[" + std::to_string(j) + "] = " + std::to_string(s.block_table[j]) +
                " is outside [0, " + std::to_string(limits.cache_blocks) + ")");
    // Two writers of one block would corrupt each other's KV.
    for (uint64_t j = s.start_pos / B; j <= (end - 1) / B; ++j) {
      const int32_t block = s.block_table[j];
      if (auto [it, fresh] = written_by.emplace(block, i); !fresh)
        invalid(name + ": block_table[" + std::to_string(j) + "] = block " + std::to_string(block) +
                " is also written this step by " +
                (it->second == i ? std::string("this sequence") : detail::seq_name(batch->seqs[it->second], it->second)));
    }
    if (s.sampling) validate_sampling_params(engine, *s.sampling, limits.vocab_size, s.seq_id);
  }
}

}  // namespace lmrt::checks
