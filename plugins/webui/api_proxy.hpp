// Forwards the page's v1/* requests to an api_server and streams the answers back
// as they come (server-sent events included), so the page served by `lmrt serve
// webui` behaves as when api_server serves it. A browser that goes away (the page's
// stop button aborts its fetch) closes the upstream connection too, and the
// api_server cancels that generation.
#pragma once

#include <httplib.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace lmrt::webui {

class ApiProxy {
 public:
  // upstream: "http://HOST:PORT" (checked by the caller).
  explicit ApiProxy(std::string upstream);
  ~ApiProxy();

  // An httplib handler. Threading: called from the server's worker threads.
  void handle(const httplib::Request& req, httplib::Response& res);

  // Aborts every forwarded request (the server is shutting down).
  void cancel_all();

  struct Exchange;  // one forwarded request (api_proxy.cpp)

 private:
  std::string upstream_;
  std::mutex mutex_;
  std::set<Exchange*> live_;
};

// OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
std::string openai_error_json(const std::string& message, const std::string& type, int code);

}  // namespace lmrt::webui
