// A sequence's sampling parameters as the sampling kernel reads them (kernels/sampling/sampling.hpp), without its
// penalty and banned-token entries, which the step lays out beside the rows.
#pragma once

#include <cstdint>

#include "kernels/sampling/sampling.hpp"
#include "lmrt/engine.h"

namespace lmrt::tm {

// `position`: the position the sampled token will occupy (start_pos + num_tokens).
inline SampleRow sample_row(const lmrt_sampling_params& p, uint64_t position) {
  SampleRow r{};
  r.temperature = p.temperature;
  r.top_k = p.top_k;
  r.top_p = p.top_p;
  r.min_p = p.min_p;
  r.repetition_penalty = p.repetition_penalty;
  r.presence_penalty = p.presence_penalty;
  r.frequency_penalty = p.frequency_penalty;
  r.top_logprobs = static_cast<int32_t>(p.top_logprobs);
  r.seed = p.seed;
  r.position = position;
  return r;
}

// No penalty and no banned token: the row alone says how to sample (what a decode graph serves).
inline bool plain_sampling(const lmrt_sampling_params& p) {
  return p.repetition_penalty == 1.f && p.presence_penalty == 0.f && p.frequency_penalty == 0.f &&
         p.num_banned_tokens == 0;
}

}  // namespace lmrt::tm
