// The runtime: a deployment brought to life. It loads the model, tokenizer and
// chat template, creates the engine plugin and its KV pool, and runs the
// scheduler (continuous batching over paged KV blocks) on a thread of its own.
// The C API (runtime.h) is a thin layer over this class.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lmrt/core/config.hpp"
#include "lmrt/core/plugin_registry.hpp"
#include "lmrt/runtime.h"

namespace lmrt {

class Tokenizer;

// Per-request generation settings, resolved from the deployment's defaults and
// the request (see lmrt_gen_config for the meaning of each field).
struct GenerationParams {
  uint32_t max_new_tokens = 512;
  uint32_t min_new_tokens = 0;
  float temperature = 0.8f;
  int32_t top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  bool ignore_eos = false;
  bool skip_special_tokens = true;
  bool logprobs = false;
  uint32_t top_logprobs = 0;
  std::vector<std::string> stop_words;
  std::vector<int32_t> stop_token_ids;
};

struct ChatTurn {
  std::string role;
  std::string content;
};

struct RequestInput {
  lmrt_input_kind kind = LMRT_INPUT_TEXT;
  std::string text;
  std::vector<ChatTurn> messages;
  std::vector<int32_t> tokens;
};

// One event of a request (see lmrt_event); the C API converts it.
struct RuntimeEvent {
  lmrt_event_kind kind = LMRT_EVENT_DELTA;
  uint64_t request_id = 0;
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<lmrt_token_logprobs> logprobs;  // empty unless asked
  lmrt_finish_reason finish_reason = LMRT_FINISH_NONE;
  std::string error_message;
  uint32_t input_tokens = 0, output_tokens = 0, cached_tokens = 0;
  double queue_seconds = 0, first_token_seconds = 0, total_seconds = 0;
};

using EventCallback = std::function<void(const RuntimeEvent&)>;

class Runtime {
 public:
  // Loads everything and starts the scheduler. `registry` may be shared with the
  // host (frontends); NULL makes one from the deployment's plugin search paths.
  explicit Runtime(const Deployment& deployment, std::shared_ptr<PluginRegistry> registry = nullptr);
  ~Runtime();  // cancels what runs and joins the scheduler
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The deployment's generation defaults as GenerationParams.
  GenerationParams default_generation() const;

  // Queues a request (any thread). Input errors (empty input, prompt longer than
  // session_len, bad values) throw lmrt::Error here. The callback runs on the
  // scheduler thread, for every event, ending with FINISHED.
  uint64_t submit(const RequestInput& input, const GenerationParams& gen, EventCallback callback,
                  uint64_t session_id = 0, bool end_session = false);
  void cancel(uint64_t request_id);
  void end_session(uint64_t session_id);

  std::vector<int32_t> encode(const std::string& text, bool add_special_tokens) const;
  std::string decode(const std::vector<int32_t>& tokens, bool skip_special_tokens) const;
  std::string apply_chat_template(const std::vector<ChatTurn>& messages) const;
  const Tokenizer& tokenizer() const;

  nlohmann::json info() const;
  nlohmann::json stats() const;
  const Deployment& deployment() const;
  std::shared_ptr<PluginRegistry> registry() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The C API's table (runtime.h), backed by Runtime.
const lmrt_runtime_api* runtime_api_table();

}  // namespace lmrt
