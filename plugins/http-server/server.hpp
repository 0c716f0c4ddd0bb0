// The api_server: an httplib server whose routes speak OpenAI's and LMDeploy's
// protocols over the runtime C API. Cross-cutting rules live here (authentication,
// CORS, the body-size and concurrency limits, OpenAI-shaped errors, draining on
// shutdown); the endpoints live in openai_routes.cpp and lmdeploy_routes.cpp.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "generation.hpp"
#include "metrics.hpp"
#include "server_options.hpp"

namespace lmrt::http {

class Server;

// Holds one of the --max-concurrent-requests slots for as long as it lives.
class Admission {
 public:
  explicit Admission(Server& s);
  ~Admission();
  Admission(const Admission&) = delete;
  Admission& operator=(const Admission&) = delete;

 private:
  Server& server_;
};

class Server {
 public:
  // `defaults` and `default_stop`: the deployment's generation section.
  Server(const lmrt_runtime_api* api, lmrt_runtime* runtime, ServerOptions options, lmrt_gen_config defaults,
         std::vector<std::string> default_stop);

  // Binds the port (throws a message naming the address when it cannot).
  void bind();
  // Serves until stop(); call from a thread of its own.
  void serve();
  // Stops accepting; in-flight requests go on until they finish or cancel_in_flight().
  void stop();
  // Makes every in-flight generation cancel itself (within one poll period).
  void cancel_in_flight() { cancel_all_ = true; }
  int64_t in_flight() const { return in_flight_.load(); }
  int port() const { return port_; }

  // ---- for the route files
  const lmrt_runtime_api* api() const { return api_; }
  lmrt_runtime* runtime() const { return rt_; }
  const std::string& model_name() const { return model_name_; }
  uint32_t session_len() const { return session_len_; }
  const lmrt_gen_config& defaults() const { return defaults_; }
  const std::vector<std::string>& default_stop() const { return default_stop_; }
  Metrics& metrics() { return metrics_; }
  bool cancelling() const { return cancel_all_.load(); }

  // The request body as a JSON object, or a 400 that says what is wrong with it.
  static nlohmann::json json_body(const httplib::Request& req);
  // 404 in OpenAI's shape when the body names another model than the one served.
  void check_model(const nlohmann::json& body) const;
  // The text of one token, special tokens included (for logprobs).
  std::string token_text(int32_t token) const;
  // Feeds a finished generation to the metrics.
  void record(const std::string& endpoint, const Event& finished);

  static void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
  static const char* finish_reason_name(uint32_t reason);

 private:
  friend class Admission;
  void install_routes();
  void install_openai_routes();
  void install_lmdeploy_routes();
  httplib::Server::HandlerResponse before_routing(const httplib::Request& req, httplib::Response& res);
  std::string runtime_json(bool stats) const;
  std::string decode(const std::vector<int32_t>& tokens) const;

  const lmrt_runtime_api* api_;
  lmrt_runtime* rt_;
  ServerOptions options_;
  lmrt_gen_config defaults_;
  std::vector<std::string> default_stop_;
  std::string model_name_;
  uint32_t session_len_ = 0;
  Metrics metrics_;
  httplib::Server http_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::vector<int32_t> anchor_;  // see token_text
  std::string anchor_text_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::atomic<bool> cancel_all_{false};
};

// Wraps a handler so that an ApiError (or any exception) becomes an OpenAI-shaped error.
httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> handler);

}  // namespace lmrt::http
