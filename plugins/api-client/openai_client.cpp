#include "openai_client.hpp"

#include <chrono>

#include "http_error_text.hpp"
#include "lmrt/plugin.hpp"
#include "sse_parser.hpp"

namespace lmrt::api_client {

using lmrt::plugin::Error;
using nlohmann::json;

namespace {

// A long prefill on a big model can take minutes before the first token.
constexpr auto kReadTimeout = std::chrono::minutes(10);

// OpenAI's error body is {"error": {"message": ...}}; anything else is shown as it is.
std::string server_message(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
  }
  std::string text = body.substr(0, 300);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text.empty() ? "(no message)" : text;
}

}  // namespace

OpenAiClient::OpenAiClient(std::string url, const std::string& api_key) : url_(std::move(url)), client_(url_) {
  client_.set_connection_timeout(std::chrono::seconds(5));
  client_.set_read_timeout(kReadTimeout);
  client_.set_keep_alive(true);
  if (!api_key.empty()) client_.set_bearer_token_auth(api_key.c_str());
}

std::string OpenAiClient::fail_text(const httplib::Result& result) const {
  std::string why = lmrt::webui::http_error_text(result.error());
  if (result.error() == httplib::Error::Connection || result.error() == httplib::Error::ConnectionTimeout)
    return "cannot reach the api_server at " + url_ + ": " + why + " (is `lmrt serve api_server` running there?)";
  return "the api_server at " + url_ + " did not answer: " + why;
}

std::string OpenAiClient::status_text(int status, const std::string& body) const {
  std::string text = "the api_server answered " + std::to_string(status) + ": " + server_message(body);
  if (status == 401) text += " (give the server's key with --api-key)";
  return text;
}

std::vector<std::string> OpenAiClient::models() {
  httplib::Result r = client_.Get("/v1/models");
  if (!r) throw Error(LMRT_STATUS_IO_ERROR, fail_text(r));
  if (r->status != 200) throw Error(LMRT_STATUS_IO_ERROR, status_text(r->status, r->body));
  json j = json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array())
    throw Error(LMRT_STATUS_IO_ERROR, "the server at " + url_ + " answered /v1/models without a model list");
  std::vector<std::string> ids;
  for (const json& m : j["data"])
    if (m.is_object() && m.contains("id") && m["id"].is_string()) ids.push_back(m["id"].get<std::string>());
  if (ids.empty()) throw Error(LMRT_STATUS_NOT_FOUND, "the server at " + url_ + " serves no model");
  return ids;
}

std::string OpenAiClient::stream_chat(json request, const std::function<void(const std::string&)>& on_piece) {
  stopping_ = false;
  request["stream"] = true;
  int status = 0;
  std::string error_body;       // the body of a non-200 answer
  std::string stream_error;     // an error the server reported inside the stream
  std::string finish_reason;
  bool saw_done = false;
  SseParser parser([&](const std::string& data) {
    if (data == "[DONE]") {
      saw_done = true;
      return;
    }
    json chunk = json::parse(data, nullptr, false);
    if (!chunk.is_object()) {
      stream_error = "the server sent an event that is not JSON: " + data.substr(0, 80);
      return;
    }
    if (chunk.contains("error")) {
      stream_error = "the server reported: " + server_message(data);
      return;
    }
    if (!chunk.contains("choices") || !chunk["choices"].is_array() || chunk["choices"].empty()) return;  // usage
    const json& choice = chunk["choices"][0];
    if (choice.contains("delta") && choice["delta"].is_object()) {
      const json& delta = choice["delta"];
      if (delta.contains("content") && delta["content"].is_string()) {
        std::string piece = delta["content"].get<std::string>();
        if (!piece.empty()) on_piece(piece);
      }
    }
    if (choice.contains("finish_reason") && choice["finish_reason"].is_string())
      finish_reason = choice["finish_reason"].get<std::string>();
  });

  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.set_header("Content-Type", "application/json");
  req.set_header("Accept", "text/event-stream");
  req.body = request.dump();
  req.response_handler = [&](const httplib::Response& res) {
    status = res.status;
    return !stopping_.load();
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (stopping_.load()) return false;
    if (status != 200) {
      error_body.append(data, n);
      return error_body.size() < (1u << 20);
    }
    parser.feed(std::string_view(data, n));
    return stream_error.empty();
  };
  httplib::Result r = client_.send(req);
  if (stopping_.load()) return "cancelled";
  if (!stream_error.empty()) throw Error(LMRT_STATUS_IO_ERROR, stream_error);
  if (!r) throw Error(LMRT_STATUS_IO_ERROR, fail_text(r));
  if (status != 200) throw Error(LMRT_STATUS_IO_ERROR, status_text(status, error_body));
  parser.finish();
  if (!stream_error.empty()) throw Error(LMRT_STATUS_IO_ERROR, stream_error);
  if (!saw_done && finish_reason.empty())
    throw Error(LMRT_STATUS_IO_ERROR, "the api_server at " + url_ + " ended the answer without finishing it");
  return finish_reason.empty() ? "stop" : finish_reason;
}

void OpenAiClient::stop() {
  stopping_ = true;
  client_.stop();
}

}  // namespace lmrt::api_client
