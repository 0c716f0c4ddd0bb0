// Validation of a sequence's sampling parameters (the cpu engine's rules, so both engines
// reject the same requests with the same words).
#pragma once

#include <cstdint>

#include "lmrt/engine.h"

namespace lmrt::tm {

// Throws lmrt::plugin::Error (INVALID_ARGUMENT) naming the sequence and field.
void validate_sampling_params(const lmrt_sampling_params& params, uint32_t vocab_size, uint64_t seq_id);

}  // namespace lmrt::tm
