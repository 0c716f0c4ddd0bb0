// Parameters and results of GPU sampling, shared by the engine (host) and the kernel.
// The semantics are the cpu engine's (backends/cpu/sampler.hpp), in the same order:
// repetition penalty, presence/frequency penalties, banned tokens, then greedy or
// temperature -> top-k -> top-p -> min-p -> a walk with u = sampling_uniform(seed, position)
// over the survivors in id order. Logprobs are log_softmax of the raw logits.
#pragma once

#include <cstdint>

namespace lmrt::tm {

constexpr int kMaxTopLogprobs = 20;

// The first pass over a row runs in kSamplingSlices blocks, one slice of the vocabulary each (a fixed split, so a
// row's result does not depend on the batch): its max, its sum of exp(logit - max) and its best (value, id) key.
// The last of a row's blocks to finish combines them in slice order and samples.
constexpr int kSamplingSlices = 8;
struct SamplingSlice {
  float max;
  double sum;
  unsigned long long best;
};

struct SampleRow {
  float temperature;
  int32_t top_k;
  float top_p;
  float min_p;
  float repetition_penalty;
  float presence_penalty;
  float frequency_penalty;
  int32_t top_logprobs;
  uint64_t seed;
  uint64_t position;  // the position the sampled token will occupy
  int32_t penalty_offset, penalty_count;  // distinct penalty tokens in the PenaltyEntry array
  int32_t banned_offset, banned_count;    // entries in the banned array
};

// One distinct token of a sequence's penalty_tokens and how often it occurs among the generated ones.
struct PenaltyEntry {
  int32_t token;
  int32_t generated_count;
};

struct SampleResult {
  int32_t token;
  float logprob;
  int32_t num_top;
  int32_t top_tokens[kMaxTopLogprobs];
  float top_logprobs[kMaxTopLogprobs];
};

}  // namespace lmrt::tm
