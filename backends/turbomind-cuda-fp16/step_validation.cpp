#include "step_validation.hpp"

#include <cstddef>
#include <string>
#include <unordered_map>

#include "lmrt/plugin.hpp"
#include "sampling_validation.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void invalid(const std::string& message) {
  throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: " + message);
}

std::string seq_name(const lmrt_step_seq& s, uint32_t index) {
  return "sequence " + std::to_string(s.seq_id) + " (batch index " + std::to_string(index) + ")";
}

}  // namespace

void validate_step(const lmrt_step_batch* batch, const lmrt_token_logprobs* outputs, const StepLimits& limits) {
  if (batch == nullptr) invalid("step: batch is NULL");
  // A 1.0 batch ends before flags (read through LMRT_HAS_FIELD).
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
    const std::string name = seq_name(s, i);
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
                (it->second == i ? std::string("this sequence") : seq_name(batch->seqs[it->second], it->second)));
    }
    if (s.sampling) validate_sampling_params(*s.sampling, limits.vocab_size, s.seq_id);
  }
}

}  // namespace lmrt::tm
