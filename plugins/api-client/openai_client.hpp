// The two OpenAI API calls the terminal client makes, over plain HTTP: the model
// list and a streamed chat completion. Errors come back as lmrt::plugin::Error with
// a message a user can act on (server down, wrong key, the server's own message).
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmrt::api_client {

class OpenAiClient {
 public:
  // url: "http://HOST:PORT"; api_key: sent as a Bearer token when not empty.
  OpenAiClient(std::string url, const std::string& api_key);

  // GET /v1/models: the ids of the served models.
  std::vector<std::string> models();

  // POST /v1/chat/completions with "stream": true. Calls on_piece with each piece
  // of the answer as it arrives; returns the finish_reason ("stop", "length", ...),
  // or "cancelled" when stop() ended it. Threading: one call at a time.
  std::string stream_chat(nlohmann::json request, const std::function<void(const std::string&)>& on_piece);

  // Ends the stream_chat in progress by closing its connection (the server then
  // cancels the generation). Threading: any thread.
  void stop();

 private:
  std::string fail_text(const httplib::Result& result) const;
  std::string status_text(int status, const std::string& body) const;

  std::string url_;
  httplib::Client client_;
  std::atomic<bool> stopping_{false};
};

}  // namespace lmrt::api_client
