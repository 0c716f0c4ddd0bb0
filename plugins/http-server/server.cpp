#include "server.hpp"

#include <sys/socket.h>

#include <algorithm>

#include "api_error.hpp"
#include "lmrt/plugin.hpp"
#include "webui_assets.hpp"

namespace lmrt::http {

using nlohmann::json;

Admission::Admission(Server& s) : server_(s) {
  if (s.draining_) throw ApiError(503, "the server is shutting down", "server_error", "", "shutting_down");
  int64_t now = ++s.in_flight_;
  uint64_t limit = s.options_.max_concurrent_requests;
  if (limit > 0 && static_cast<uint64_t>(now) > limit) {
    --s.in_flight_;
    throw ApiError(429,
                   "the server is handling its maximum of " + std::to_string(limit) +
                       " concurrent requests (--max-concurrent-requests); retry later",
                   "rate_limit_error", "", "too_many_requests");
  }
}

Admission::~Admission() { --server_.in_flight_; }

httplib::Server::Handler guarded(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
  return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const ApiError& e) {
      Server::send_json(res, e.to_json(), e.status());
    } catch (const std::exception& e) {
      Server::send_json(res, ApiError(500, e.what(), "server_error").to_json(), 500);
    }
  };
}

Server::Server(const lmrt_runtime_api* api, lmrt_runtime* runtime, ServerOptions options, lmrt_gen_config defaults,
               std::vector<std::string> default_stop)
    : api_(api), rt_(runtime), options_(std::move(options)), defaults_(defaults),
      default_stop_(std::move(default_stop)) {
  json info = json::parse(runtime_json(false));
  model_name_ = info.value("model_name", std::string("model"));
  session_len_ = info.value("session_len", 0u);
  std::string a = "a";
  lmrt_status* st = api_->encode(
      rt_, lmrt_str{a.data(), a.size()}, 0,
      [](void* u, const int32_t* t, uint32_t n) { static_cast<std::vector<int32_t>*>(u)->assign(t, t + n); }, &anchor_);
  if (st) {
    api_->status_release(st);
    anchor_.clear();
  }
  anchor_text_ = decode(anchor_);
  install_routes();
}

std::string Server::runtime_json(bool stats) const {
  std::string out;
  auto sink = [](void* u, lmrt_str t) { static_cast<std::string*>(u)->assign(t.data, t.size); };
  lmrt_status* st = stats ? api_->stats_json(rt_, sink, &out) : api_->info_json(rt_, sink, &out);
  if (st) {
    std::string msg = api_->status_get_message(st);
    api_->status_release(st);
    throw ApiError(500, msg, "server_error");
  }
  return out;
}

void Server::send_json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

json Server::json_body(const httplib::Request& req) {
  json body;
  try {
    body = json::parse(req.body);
  } catch (const json::exception& e) {
    throw invalid_request(std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) throw invalid_request("the request body must be a JSON object");
  return body;
}

void Server::check_model(const json& body) const {
  if (!body.contains("model") || body["model"].is_null()) return;
  if (!body["model"].is_string()) throw invalid_request("'model' must be a string", "model");
  std::string m = body["model"].get<std::string>();
  if (m != model_name_) throw model_not_found(m);
}

std::string Server::decode(const std::vector<int32_t>& tokens) const {
  std::string out;
  lmrt_status* st = api_->decode(
      rt_, tokens.data(), static_cast<uint32_t>(tokens.size()), 0,
      [](void* u, lmrt_str t) { static_cast<std::string*>(u)->assign(t.data, t.size); }, &out);
  if (st) api_->status_release(st);
  return out;
}

// Decoding a token alone drops the leading space sentencepiece keeps for it; decoding it
// after an anchor token and removing the anchor's text keeps it.
std::string Server::token_text(int32_t token) const {
  std::vector<int32_t> ids = anchor_;
  ids.push_back(token);
  std::string with = decode(ids);
  if (!anchor_.empty() && with.rfind(anchor_text_, 0) == 0) return with.substr(anchor_text_.size());
  return decode({token});
}

const char* Server::finish_reason_name(uint32_t reason) {
  switch (reason) {
    case LMRT_FINISH_STOP: return "stop";
    case LMRT_FINISH_LENGTH: return "length";
    case LMRT_FINISH_CANCELLED: return "abort";
    case LMRT_FINISH_ERROR: return "error";
    default: return nullptr;
  }
}

void Server::record(const std::string& endpoint, const Event& e) {
  const char* outcome = e.finish_reason == LMRT_FINISH_CANCELLED ? "cancelled" : finish_reason_name(e.finish_reason);
  metrics_.record_generation(endpoint, outcome ? outcome : "unknown", e.queue_seconds, e.first_token_seconds,
                             e.total_seconds, e.input_tokens, e.output_tokens);
}

httplib::Server::HandlerResponse Server::before_routing(const httplib::Request& req, httplib::Response& res) {
  using R = httplib::Server::HandlerResponse;
  // CORS: only for the origins the deployment allows.
  if (!options_.allow_origins.empty() && req.has_header("Origin")) {
    std::string origin = req.get_header_value("Origin");
    const auto& allowed = options_.allow_origins;
    bool any = std::find(allowed.begin(), allowed.end(), "*") != allowed.end();
    if (any || std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) {
      res.set_header("Access-Control-Allow-Origin", any ? "*" : origin);
      res.set_header("Vary", "Origin");
      if (req.method == "OPTIONS") {
        res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        std::string asked = req.get_header_value("Access-Control-Request-Headers");
        res.set_header("Access-Control-Allow-Headers", asked.empty() ? "Authorization, Content-Type" : asked);
        res.set_header("Access-Control-Max-Age", "600");
        res.status = 204;
        return R::Handled;
      }
    }
  }
  // API keys guard the API; the page, /health and /metrics stay open.
  bool api_path = req.path.rfind("/v1/", 0) == 0 || req.path == "/generate";
  if (api_path && !options_.api_keys.empty()) {
    std::string auth = req.get_header_value("Authorization");
    const std::string prefix = "Bearer ";
    std::string key = auth.rfind(prefix, 0) == 0 ? auth.substr(prefix.size()) : std::string();
    const auto& keys = options_.api_keys;
    if (key.empty() || std::find(keys.begin(), keys.end(), key) == keys.end()) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_json(res,
                ApiError(401,
                         auth.empty() ? "missing API key: send 'Authorization: Bearer <key>'"
                                      : "incorrect API key provided",
                         "invalid_request_error", "", "invalid_api_key")
                    .to_json(),
                401);
      return R::Handled;
    }
  }
  return R::Unhandled;
}

void Server::install_routes() {
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    return before_routing(req, res);
  });
  // Errors httplib makes itself (no route, body too large, bad request line) get OpenAI's shape too.
  http_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                       httplib::Response& res) {
    using R = httplib::Server::HandlerResponse;
    if (!res.body.empty()) return R::Unhandled;
    std::string msg;
    switch (res.status) {
      case 404: msg = "no route for " + req.method + " " + req.path; break;
      case 413:
        msg = "the request body is larger than max_request_bytes (" + std::to_string(options_.max_request_bytes) +
              " bytes)";
        break;
      default: msg = "the request could not be handled (HTTP " + std::to_string(res.status) + ")";
    }
    int status = res.status;
    send_json(res, ApiError(status, msg, status >= 500 ? "server_error" : "invalid_request_error").to_json(), status);
    return R::Handled;
  }));
  http_.set_logger([this](const httplib::Request&, const httplib::Response& res) { metrics_.record_response(res.status); });

  http_.Get("/health", [](const httplib::Request&, httplib::Response& res) { send_json(res, {{"status", "ok"}}); });
  http_.Get("/metrics", guarded([this](const httplib::Request&, httplib::Response& res) {
              json stats = json::parse(runtime_json(true));
              res.set_content(metrics_.render(stats, in_flight_.load()), "text/plain; version=0.0.4; charset=utf-8");
            }));
  install_openai_routes();
  install_lmdeploy_routes();
  if (options_.web_ui) {
    http_.Get(R"(/.*)", guarded([](const httplib::Request& req, httplib::Response& res) {
                const webui::Asset* a = webui::find_asset(req.path);
                if (!a) throw ApiError(404, "no page at " + req.path, "invalid_request_error");
                res.set_content(std::string(a->data), a->mime);
                res.set_header("Cache-Control", "no-cache");
                res.set_header("Content-Security-Policy", webui::kContentSecurityPolicy);
              }));
  }
}

void Server::bind() {
  // Threads serve connections (a streaming client holds one): enough for hundreds of
  // concurrent streams; past the concurrency limit the extra threads answer 429 quickly.
  size_t threads = options_.max_concurrent_requests > 0
                       ? static_cast<size_t>(std::min<uint64_t>(options_.max_concurrent_requests, 4096)) + 32
                       : 512;
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http_.set_payload_max_length(options_.max_request_bytes);
  // Well past the 4 s that Node's and the openai package's keep-alive agents keep an idle socket: a server that
  // closes first races the client's reuse of that socket (ECONNRESET on a new request), and on a loaded machine
  // the client's timer fires late (5 s still lost that race in the load test). An idle connection holds a thread
  // that long.
  http_.set_keep_alive_timeout(15);
  http_.set_keep_alive_max_count(1000);
  http_.set_read_timeout(30);
  http_.set_write_timeout(30);
  int listen_fd = -1;
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which lets a second
  // server bind a port that is in use and silently share it.
  http_.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd = sock;
  });
  if (!http_.bind_to_port(options_.server_name, options_.server_port))
    throw plugin::Error(LMRT_STATUS_IO_ERROR, "http-server: cannot listen on " + options_.server_name + ":" +
                                                  std::to_string(options_.server_port) +
                                                  " (in use, or not an address of this machine)");
  // cpp-httplib listens with a backlog of 5; many clients connecting at once need more.
  if (listen_fd >= 0) ::listen(listen_fd, 1024);
  listen_fd_ = listen_fd;
  port_ = options_.server_port;
}

void Server::serve() { http_.listen_after_bind(); }

// Not httplib's stop(): that also cuts the responses still streaming. Shutting the
// listening socket down ends the accept loop; the serving threads finish their requests.
void Server::stop() {
  draining_ = true;
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
}

}  // namespace lmrt::http
