#include "sampling_validation.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "lmrt/plugin.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void invalid(uint64_t seq_id, const std::string& what) {
  throw Error(LMRT_STATUS_INVALID_ARGUMENT,
              "turbomind-cuda-fp16: sequence " + std::to_string(seq_id) + ": sampling." + what);
}

}  // namespace

void validate_sampling_params(const lmrt_sampling_params& p, uint32_t vocab, uint64_t seq_id) {
  if (p.struct_size < sizeof(lmrt_sampling_params))
    invalid(seq_id, "struct_size is " + std::to_string(p.struct_size) + ", expected at least " +
                        std::to_string(sizeof(lmrt_sampling_params)));
  if (!std::isfinite(p.temperature)) invalid(seq_id, "temperature is not finite");
  if (std::isnan(p.top_p) || p.top_p <= 0.f) invalid(seq_id, "top_p must be in (0, 1] (>= 1 turns it off)");
  if (std::isnan(p.min_p) || p.min_p > 1.f) invalid(seq_id, "min_p must be <= 1 (<= 0 turns it off)");
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.f)
    invalid(seq_id, "repetition_penalty must be a finite number > 0 (1 turns it off)");
  if (!std::isfinite(p.presence_penalty)) invalid(seq_id, "presence_penalty is not finite");
  if (!std::isfinite(p.frequency_penalty)) invalid(seq_id, "frequency_penalty is not finite");
  if (p.top_logprobs > LMRT_MAX_TOP_LOGPROBS)
    invalid(seq_id, "top_logprobs is " + std::to_string(p.top_logprobs) + ", at most " +
                        std::to_string(LMRT_MAX_TOP_LOGPROBS));
  if (p.num_penalty_tokens > 0 && p.penalty_tokens == nullptr) invalid(seq_id, "penalty_tokens is NULL");
  for (uint32_t i = 0; i < p.num_penalty_tokens; ++i)
    if (p.penalty_tokens[i] < 0 || static_cast<uint32_t>(p.penalty_tokens[i]) >= vocab)
      invalid(seq_id, "penalty_tokens[" + std::to_string(i) + "] = " + std::to_string(p.penalty_tokens[i]) +
                          " is outside [0, " + std::to_string(vocab) + ")");
  if (p.num_generated > p.num_penalty_tokens)
    invalid(seq_id, "num_generated (" + std::to_string(p.num_generated) + ") exceeds num_penalty_tokens (" +
                        std::to_string(p.num_penalty_tokens) + ")");
  if (p.num_banned_tokens > 0 && p.banned_tokens == nullptr) invalid(seq_id, "banned_tokens is NULL");
  std::vector<bool> banned(p.num_banned_tokens > 0 ? vocab : 0, false);
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < p.num_banned_tokens; ++i) {
    const int32_t t = p.banned_tokens[i];
    if (t < 0 || static_cast<uint32_t>(t) >= vocab)
      invalid(seq_id, "banned_tokens[" + std::to_string(i) + "] = " + std::to_string(t) + " is outside [0, " +
                          std::to_string(vocab) + ")");
    if (!banned[t]) banned[t] = true, ++distinct;
  }
  if (distinct == vocab) invalid(seq_id, "banned_tokens bans every token of the vocabulary");
}

}  // namespace lmrt::tm
