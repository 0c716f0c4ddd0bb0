#include "request_job.hpp"

#include "api_error.hpp"

namespace lmrt::http {

RequestJob::RequestJob(Server& server, std::string endpoint, const httplib::Request& req)
    : server_(server), endpoint_(std::move(endpoint)), admission_(server),
      peer_(req.remote_addr, req.remote_port, req.local_port), gen_(server.api(), server.runtime()) {}

void RequestJob::submit(const lmrt_request_params& params) {
  gen_.submit(params);
  results_.emplace_back();
}

bool RequestJob::next(Event& ev, int timeout_ms) {
  if (!cancel_sent_ && (server_.cancelling() || peer_.gone())) {
    client_gone_ = !server_.cancelling();
    cancel_sent_ = true;
    gen_.cancel();
  }
  if (!gen_.next(ev, timeout_ms)) return false;
  ChoiceResult& r = results_.at(ev.choice);
  r.text += ev.text;
  r.tokens.insert(r.tokens.end(), ev.tokens.begin(), ev.tokens.end());
  r.logprobs.insert(r.logprobs.end(), ev.logprobs.begin(), ev.logprobs.end());
  r.input_tokens = ev.input_tokens;
  r.output_tokens = ev.output_tokens;
  r.cached_tokens = ev.cached_tokens;
  if (ev.finished) {
    r.finish_reason = ev.finish_reason;
    r.error = ev.error;
    server_.record(endpoint_, ev);
  }
  return true;
}

bool RequestJob::run_to_end() {
  Event ev;
  while (!done()) next(ev, 100);
  return !client_gone_;
}

nlohmann::json RequestJob::usage(size_t choices_per_prompt) const {
  uint64_t prompt = 0, completion = 0, cached = 0;
  for (size_t i = 0; i < results_.size(); ++i) {
    completion += results_[i].output_tokens;
    if (choices_per_prompt == 0 || i % choices_per_prompt == 0) {
      prompt += results_[i].input_tokens;
      cached += results_[i].cached_tokens;
    }
  }
  return {{"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"total_tokens", prompt + completion},
          {"prompt_tokens_details", {{"cached_tokens", cached}}}};
}

void throw_if_failed(const RequestJob& job) {
  for (const auto& r : job.results())
    if (r.finish_reason == LMRT_FINISH_ERROR)
      throw ApiError(500, "generation failed: " + r.error, "server_error");
}

}  // namespace lmrt::http
