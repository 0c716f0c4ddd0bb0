// Checks everything a step receives before any of it is computed, so a bad
// request changes nothing and the engine stays usable.
#pragma once

#include <cstdint>

#include "lmrt/engine.h"

namespace lmrt::tm {

struct StepLimits {
  uint32_t vocab_size;
  uint32_t cache_blocks;  // 0 when the KV pool is not allocated yet
  uint32_t block_seq_len;
};

// Throws lmrt::plugin::Error (INVALID_ARGUMENT) naming the sequence and the field.
void validate_step(const lmrt_step_batch* batch, const lmrt_token_logprobs* outputs, const StepLimits& limits);

}  // namespace lmrt::tm
