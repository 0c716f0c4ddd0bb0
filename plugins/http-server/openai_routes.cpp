// OpenAI's endpoints: GET /v1/models, POST /v1/chat/completions, POST /v1/completions
// (streaming as server-sent events ending with "data: [DONE]", or one JSON body).
#include <atomic>
#include <chrono>
#include <random>

#include "api_error.hpp"
#include "chat_messages.hpp"
#include "request_job.hpp"
#include "sampling_params.hpp"
#include "server.hpp"
#include "sse_stream.hpp"

namespace lmrt::http {
namespace {

using nlohmann::json;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string make_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s-%016llx%04llx", prefix, static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(++counter & 0xffff));
  return buf;
}

json bytes_of(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

// Chat's logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
json chat_logprobs(Server& s, const std::vector<lmrt_token_logprobs>& lps, uint32_t top) {
  json content = json::array();
  for (const auto& lp : lps) {
    std::string t = s.token_text(lp.token);
    json alts = json::array();
    for (uint32_t i = 0; i < std::min(lp.num_top, top); ++i) {
      std::string a = s.token_text(lp.top_tokens[i]);
      alts.push_back({{"token", a}, {"logprob", lp.top_logprobs[i]}, {"bytes", bytes_of(a)}});
    }
    content.push_back({{"token", t}, {"logprob", lp.logprob}, {"bytes", bytes_of(t)}, {"top_logprobs", alts}});
  }
  return {{"content", content}};
}

// The legacy completions shape: tokens, token_logprobs, top_logprobs (maps), text_offset.
json completion_logprobs(Server& s, const std::vector<lmrt_token_logprobs>& lps, uint32_t top, size_t offset) {
  json tokens = json::array(), values = json::array(), tops = json::array(), offsets = json::array();
  for (const auto& lp : lps) {
    std::string t = s.token_text(lp.token);
    tokens.push_back(t);
    values.push_back(lp.logprob);
    offsets.push_back(offset);
    offset += t.size();
    json alts = json::object();
    for (uint32_t i = 0; i < std::min(lp.num_top, top); ++i) alts[s.token_text(lp.top_tokens[i])] = lp.top_logprobs[i];
    tops.push_back(alts);
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json finish_json(uint32_t reason) {
  const char* name = Server::finish_reason_name(reason);
  return name ? json(name) : json(nullptr);
}

void reject_unsupported(const json& body) {
  if (body.contains("tools") && body["tools"].is_array() && !body["tools"].empty())
    throw invalid_request("'tools' (function calling) is not supported by this server", "tools");
  if (body.contains("echo") && body["echo"].is_boolean() && body["echo"].get<bool>())
    throw invalid_request("'echo' is not supported by this server", "echo");
  // Fields that would change the answer if honoured: refused rather than silently ignored.
  if (body.contains("functions") && body["functions"].is_array() && !body["functions"].empty())
    throw invalid_request("'functions' (function calling) is not supported by this server", "functions");
  if (body.contains("response_format") && !body["response_format"].is_null()) {
    const json& f = body["response_format"];
    if (!f.is_object() || f.value("type", std::string("text")) != "text")
      throw invalid_request("'response_format' other than {\"type\": \"text\"} (JSON mode, JSON schemas) is not "
                            "supported by this server", "response_format");
  }
  if (body.contains("logit_bias") && !body["logit_bias"].is_null() &&
      !(body["logit_bias"].is_object() && body["logit_bias"].empty()))
    throw invalid_request("'logit_bias' is not supported by this server", "logit_bias");
  if (body.contains("best_of") && !body["best_of"].is_null()) {
    const json& b = body["best_of"];
    const json n = body.contains("n") && !body["n"].is_null() ? body["n"] : json(1);
    if (!b.is_number_integer() || b != n)
      throw invalid_request("'best_of' other than n (scoring several samples) is not supported by this server", "best_of");
  }
}

void chat_completions(Server& s, const httplib::Request& req, httplib::Response& res) {
  json body = Server::json_body(req);
  s.check_model(body);
  reject_unsupported(body);
  if (!body.contains("messages")) throw invalid_request("'messages' is required", "messages");
  Turns turns = parse_messages(body["messages"], "messages");
  SamplingParams sp = parse_sampling(body, Dialect::chat, s.defaults(), s.session_len(), s.default_stop());

  auto job = std::make_shared<RequestJob>(s, "chat_completions", req);
  std::vector<lmrt_message> msgs = turns.view();
  std::vector<lmrt_str> stops;
  for (uint32_t i = 0; i < sp.n; ++i) {
    lmrt_gen_config g = sp.config(i, stops);
    lmrt_request_params p{};
    p.struct_size = sizeof p;
    p.input_kind = LMRT_INPUT_MESSAGES;
    p.messages = msgs.data();
    p.num_messages = static_cast<uint32_t>(msgs.size());
    p.gen = &g;
    job->submit(p);
  }
  std::string id = make_id("chatcmpl");
  int64_t created = unix_now();
  std::string model = s.model_name();

  if (!sp.stream) {
    job->run_to_end();
    throw_if_failed(*job);
    json choices = json::array();
    for (size_t i = 0; i < job->results().size(); ++i) {
      const auto& r = job->results()[i];
      choices.push_back({{"index", i},
                         {"message", {{"role", "assistant"}, {"content", r.text}}},
                         {"logprobs", sp.logprobs ? chat_logprobs(s, r.logprobs, sp.top_logprobs) : json(nullptr)},
                         {"finish_reason", finish_json(r.finish_reason)}});
    }
    Server::send_json(res, {{"id", id},
                            {"object", "chat.completion"},
                            {"created", created},
                            {"model", model},
                            {"choices", choices},
                            {"usage", job->usage(sp.n)}});
    return;
  }

  auto chunk = [id, created, model, usage = sp.include_usage](json choices) {
    json c = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", model},
              {"choices", std::move(choices)}};
    if (usage) c["usage"] = nullptr;
    return c;
  };
  SseStream::Formatter first = [chunk, n = sp.n](SseStream&) {
    std::vector<json> out;
    json choices = json::array();
    for (uint32_t i = 0; i < n; ++i)
      choices.push_back({{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}}, {"logprobs", nullptr},
                         {"finish_reason", nullptr}});
    out.push_back(chunk(choices));
    return out;
  };
  SseStream::EventFormatter each = [chunk, sp, &s](SseStream&, const Event& ev) {
    std::vector<json> out;
    bool has_logprobs = sp.logprobs && !ev.logprobs.empty();
    if (ev.text.empty() && !has_logprobs && !ev.finished) return out;
    json delta = json::object();
    if (!ev.text.empty()) delta["content"] = ev.text;
    out.push_back(chunk(json::array({{{"index", ev.choice},
                                      {"delta", delta},
                                      {"logprobs", has_logprobs ? chat_logprobs(s, ev.logprobs, sp.top_logprobs)
                                                                : json(nullptr)},
                                      {"finish_reason", ev.finished ? finish_json(ev.finish_reason) : json(nullptr)}}})));
    return out;
  };
  SseStream::Formatter last = [chunk, sp](SseStream& st) {
    std::vector<json> out;
    if (sp.include_usage) {
      json c = chunk(json::array());
      c["usage"] = st.job().usage(sp.n);
      out.push_back(c);
    }
    return out;
  };
  SseStream::start(res, job, std::move(first), std::move(each), std::move(last));
}

void completions(Server& s, const httplib::Request& req, httplib::Response& res) {
  json body = Server::json_body(req);
  s.check_model(body);
  reject_unsupported(body);
  if (!body.contains("prompt") || body["prompt"].is_null()) throw invalid_request("'prompt' is required", "prompt");
  // prompt: a string, a list of strings, a list of token ids, or a list of such lists.
  struct Prompt {
    std::string text;
    std::vector<int32_t> tokens;
    bool is_tokens = false;
  };
  std::vector<Prompt> prompts;
  auto token_list = [](const json& a, const char* where) {
    std::vector<int32_t> t;
    for (const auto& x : a) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX)
        throw invalid_request(std::string("'") + where + "' token ids must be non-negative integers", "prompt");
      t.push_back(static_cast<int32_t>(x.get<int64_t>()));
    }
    if (t.empty()) throw invalid_request("'prompt' must not be an empty list of tokens", "prompt");
    return t;
  };
  const json& pj = body["prompt"];
  if (pj.is_string()) {
    prompts.push_back({pj.get<std::string>(), {}, false});
  } else if (pj.is_array() && !pj.empty() && pj[0].is_number()) {
    prompts.push_back({{}, token_list(pj, "prompt"), true});
  } else if (pj.is_array() && !pj.empty()) {
    for (const auto& e : pj) {
      if (e.is_string()) prompts.push_back({e.get<std::string>(), {}, false});
      else if (e.is_array()) prompts.push_back({{}, token_list(e, "prompt[]"), true});
      else throw invalid_request("'prompt' must be a string, a list of strings or a list of token ids", "prompt");
    }
  } else {
    throw invalid_request("'prompt' must be a string, a list of strings or a list of token ids", "prompt");
  }
  constexpr size_t kMaxPrompts = 64;
  if (prompts.size() > kMaxPrompts)
    throw invalid_request("'prompt' has " + std::to_string(prompts.size()) + " prompts; at most 64 per request",
                          "prompt");
  SamplingParams sp = parse_sampling(body, Dialect::completion, s.defaults(), s.session_len(), s.default_stop());

  auto job = std::make_shared<RequestJob>(s, "completions", req);
  std::vector<lmrt_str> stops;
  for (const auto& pr : prompts) {
    for (uint32_t i = 0; i < sp.n; ++i) {
      lmrt_gen_config g = sp.config(i, stops);
      lmrt_request_params p{};
      p.struct_size = sizeof p;
      if (pr.is_tokens) {
        p.input_kind = LMRT_INPUT_TOKENS;
        p.tokens = pr.tokens.data();
        p.num_tokens = static_cast<uint32_t>(pr.tokens.size());
      } else {
        p.input_kind = LMRT_INPUT_TEXT;
        p.text = lmrt_str{pr.text.data(), pr.text.size()};
      }
      p.gen = &g;
      job->submit(p);
    }
  }
  std::string id = make_id("cmpl");
  int64_t created = unix_now();
  std::string model = s.model_name();

  if (!sp.stream) {
    job->run_to_end();
    throw_if_failed(*job);
    json choices = json::array();
    for (size_t i = 0; i < job->results().size(); ++i) {
      const auto& r = job->results()[i];
      choices.push_back(
          {{"index", i},
           {"text", r.text},
           {"logprobs", sp.logprobs ? completion_logprobs(s, r.logprobs, sp.top_logprobs, 0) : json(nullptr)},
           {"finish_reason", finish_json(r.finish_reason)}});
    }
    Server::send_json(res, {{"id", id},
                            {"object", "text_completion"},
                            {"created", created},
                            {"model", model},
                            {"choices", choices},
                            {"usage", job->usage(sp.n)}});
    return;
  }
  auto chunk = [id, created, model, usage = sp.include_usage](json choices) {
    json c = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", model},
              {"choices", std::move(choices)}};
    if (usage) c["usage"] = nullptr;
    return c;
  };
  auto offsets = std::make_shared<std::vector<size_t>>(job->results().size(), 0);
  SseStream::EventFormatter each = [chunk, sp, offsets, &s](SseStream&, const Event& ev) {
    std::vector<json> out;
    bool has_logprobs = sp.logprobs && !ev.logprobs.empty();
    if (ev.text.empty() && !has_logprobs && !ev.finished) return out;
    json lp = has_logprobs ? completion_logprobs(s, ev.logprobs, sp.top_logprobs, (*offsets)[ev.choice]) : json(nullptr);
    (*offsets)[ev.choice] += ev.text.size();
    out.push_back(chunk(json::array({{{"index", ev.choice},
                                      {"text", ev.text},
                                      {"logprobs", lp},
                                      {"finish_reason", ev.finished ? finish_json(ev.finish_reason) : json(nullptr)}}})));
    return out;
  };
  SseStream::Formatter last = [chunk, sp](SseStream& st) {
    std::vector<json> out;
    if (sp.include_usage) {
      json c = chunk(json::array());
      c["usage"] = st.job().usage(sp.n);
      out.push_back(c);
    }
    return out;
  };
  SseStream::start(res, job, nullptr, std::move(each), std::move(last));
}

}  // namespace

void Server::install_openai_routes() {
  auto model_card = [this] {
    return json{{"id", model_name_}, {"object", "model"}, {"created", unix_now()}, {"owned_by", "lmrt"},
                {"root", model_name_}, {"parent", nullptr}, {"max_model_len", session_len_}};
  };
  http_.Get("/v1/models", guarded([model_card](const httplib::Request&, httplib::Response& res) {
              send_json(res, {{"object", "list"}, {"data", json::array({model_card()})}});
            }));
  http_.Get("/v1/models/(.+)", guarded([this, model_card](const httplib::Request& req, httplib::Response& res) {
              std::string m = req.matches[1];
              if (m != model_name_) throw model_not_found(m);
              send_json(res, model_card());
            }));
  http_.Post("/v1/chat/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
               chat_completions(*this, req, res);
             }));
  http_.Post("/v1/completions", guarded([this](const httplib::Request& req, httplib::Response& res) {
               completions(*this, req, res);
             }));
}

}  // namespace lmrt::http
