// What every generation endpoint does around the runtime: hold a concurrency slot,
// submit the choices, wait for events while watching for a client that left or a
// server that is shutting down (either cancels), collect each choice's result and
// feed the metrics.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <vector>

#include "generation.hpp"
#include "peer_watch.hpp"
#include "server.hpp"

namespace lmrt::http {

struct ChoiceResult {
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<lmrt_token_logprobs> logprobs;
  uint32_t finish_reason = LMRT_FINISH_NONE;
  std::string error;
  uint32_t input_tokens = 0, output_tokens = 0, cached_tokens = 0;
};

class RequestJob {
 public:
  RequestJob(Server& server, std::string endpoint, const httplib::Request& req);

  void submit(const lmrt_request_params& params);
  // The next event (also folded into results()); false after `timeout_ms` without one.
  // Cancels everything when the client is gone or the server cancels in-flight work.
  bool next(Event& ev, int timeout_ms = 50);
  bool done() const { return gen_.unfinished() == 0; }
  // Non-streaming: waits for every choice to finish. False when the client left.
  bool run_to_end();
  bool client_gone() const { return client_gone_; }

  const std::vector<ChoiceResult>& results() const { return results_; }
  // OpenAI's usage object; `prompts` distinct prompts (their tokens are counted once).
  nlohmann::json usage(size_t choices_per_prompt) const;
  // The runtime request ids (for cancelling an interactive session from another request).
  Generation& generation() { return gen_; }
  Server& server() { return server_; }

 private:
  Server& server_;
  std::string endpoint_;
  Admission admission_;
  PeerWatch peer_;
  Generation gen_;
  std::vector<ChoiceResult> results_;
  bool client_gone_ = false;
  bool cancel_sent_ = false;
};

// Throws a 500 in OpenAI's shape when a choice ended in a runtime error.
void throw_if_failed(const RequestJob& job);

}  // namespace lmrt::http
