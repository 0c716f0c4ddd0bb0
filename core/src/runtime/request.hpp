// The scheduler's view of one request: its tokens, its KV blocks, how far the
// engine has computed it, and what has been streamed so far.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lmrt/core/block_manager.hpp"
#include "lmrt/core/detokenizer.hpp"
#include "lmrt/core/runtime.hpp"
#include "lmrt/core/stop_matcher.hpp"
#include "lmrt/engine.h"

namespace lmrt {

using Clock = std::chrono::steady_clock;

struct Request {
  uint64_t id = 0;
  uint64_t session_id = 0;
  bool end_session = false;
  GenerationParams gen;
  uint64_t seed = 0;
  EventCallback callback;

  // The whole sequence: session history, this request's input, then what it has
  // generated. KV for [0, num_computed) is in `blocks`.
  std::vector<int32_t> tokens;
  uint32_t input_end = 0;       // tokens.size() when the request was admitted
  uint32_t input_tokens = 0;    // this request's own input (without session history)
  uint32_t num_computed = 0;
  uint32_t num_generated = 0;
  uint32_t cached_tokens = 0;   // input tokens that came from the prefix cache (first admission)
  uint32_t max_total = 0;       // stop at this many tokens (session_len / max_new_tokens)
  bool length_by_session = false;
  SeqBlocks blocks;
  bool admitted_once = false;

  std::unique_ptr<IncrementalDetokenizer> detok;
  std::unique_ptr<StopMatcher> stops;
  std::vector<int32_t> stop_ids;      // tokens that end generation (sorted; EOS unless ignore_eos)
  std::vector<int32_t> banned_until_min;  // stop ids, banned while num_generated < min_new_tokens

  // Per-step scratch.
  lmrt_sampling_params sampling{};

  Clock::time_point submitted, first_scheduled, first_token;
  bool scheduled = false, got_token = false;
  bool stopped_by_word = false;

  bool prefilling() const { return num_computed + 1 < tokens.size(); }
};

}  // namespace lmrt
