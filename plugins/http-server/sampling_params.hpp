// Reads the sampling fields of a request body (OpenAI's and LMDeploy's names) into a
// generation config, checking each field's type and range: a bad field is a 400 that
// names it. Unknown fields are ignored, as vLLM and LMDeploy do.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmrt/runtime.h"

namespace lmrt::http {

// Which endpoint's field names and defaults apply.
enum class Dialect {
  chat,        // /v1/chat/completions: logprobs bool + top_logprobs, max_completion_tokens
  completion,  // /v1/completions: logprobs as an integer count of alternatives
  interactive, // /v1/chat/interactive: request_output_len
  generate     // /generate: max_tokens, return_logprob
};

struct SamplingParams {
  lmrt_gen_config base{};  // stop_words are filled by config()
  std::vector<std::string> stop;
  uint32_t n = 1;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  uint32_t top_logprobs = 0;

  // The config for choice `index` (seed + index when seeded, so choices differ).
  // Points into `stop`: valid while this object lives and is not changed.
  lmrt_gen_config config(uint32_t index, std::vector<lmrt_str>& stop_storage) const;
};

// `defaults` come from the deployment's generation section; `session_len` bounds max_tokens.
SamplingParams parse_sampling(const nlohmann::json& body, Dialect dialect, const lmrt_gen_config& defaults,
                              uint32_t session_len, const std::vector<std::string>& default_stop = {});

// Field readers shared by the endpoints: absent or null gives `fallback`; a wrong
// type or a value out of range throws a 400 naming the field.
bool read_bool(const nlohmann::json& body, const char* key, bool fallback);
int64_t read_int(const nlohmann::json& body, const char* key, int64_t fallback, int64_t lo, int64_t hi);
double read_number(const nlohmann::json& body, const char* key, double fallback, double lo, double hi);

}  // namespace lmrt::http
