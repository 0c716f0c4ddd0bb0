// Picking the next token from one row of logits, on the engine side.
//
// Order of transformations (each on the output of the previous one):
//   1. repetition penalty (HF: positive logits divided, negative multiplied, over
//      the distinct tokens of penalty_tokens),
//   2. presence / frequency penalties (OpenAI: logit -= presence * [count > 0]
//      + frequency * count, counts over the last num_generated penalty_tokens),
//   3. banned tokens -> -inf,
//   then greedy (temperature <= 0: argmax, ties to the lowest id), or
//   4. temperature (logits / T), 5. top-k, 6. top-p, 7. min-p, 8. sample:
//      the candidates that survive are walked in id order with the variate
//      u = lmrt::rng::sampling_uniform(seed, position) until the cumulative
//      probability exceeds u * (their total). (Id order, not probability order:
//      two engines whose logits differ by rounding then disagree only where u
//      falls on a boundary, not wherever two near-equal candidates swap places.)
// The reported logprob and top_logprobs come from log_softmax of the raw logits,
// before any of the above.
#pragma once

#include <cstdint>

#include "lmrt/abi.h"
#include "lmrt/engine.h"

namespace lmrt::cpu {

// Samples the token for `position` (the position the new token will occupy) and
// fills `out` (token, logprob, top alternatives). `params` must have been validated
// (lmrt::checks::validate_sampling_params, lmrt/cpp/step_checks.hpp).
void sample_token(const float* logits, uint32_t vocab_size, const lmrt_sampling_params& params, uint64_t position,
                  lmrt_token_logprobs& out);

}  // namespace lmrt::cpu
