// LMDeploy's own endpoints: POST /v1/chat/interactive (sessions that keep their
// history and KV between requests), POST /generate (raw text or token ids in, text
// and ids out) and POST /v1/encode (the tokenizer).
#include <map>
#include <mutex>

#include "api_error.hpp"
#include "chat_messages.hpp"
#include "request_job.hpp"
#include "sampling_params.hpp"
#include "server.hpp"
#include "sse_stream.hpp"

namespace lmrt::http {
namespace {

using nlohmann::json;

// Interactive sessions: the request running in each (to cancel it) and the tokens
// its history holds (LMDeploy reports them as history_tokens).
class Sessions {
 public:
  void running(uint64_t session, uint64_t request) {
    std::lock_guard lock(mutex_);
    running_[session] = request;
  }
  void done(uint64_t session, uint64_t tokens, bool ended) {
    std::lock_guard lock(mutex_);
    running_.erase(session);
    if (ended) history_.erase(session);
    else history_[session] += tokens;
  }
  uint64_t history(uint64_t session) {
    std::lock_guard lock(mutex_);
    auto it = history_.find(session);
    return it == history_.end() ? 0 : it->second;
  }
  bool request_of(uint64_t session, uint64_t& request) {
    std::lock_guard lock(mutex_);
    auto it = running_.find(session);
    if (it == running_.end()) return false;
    request = it->second;
    return true;
  }
  void forget(uint64_t session) {
    std::lock_guard lock(mutex_);
    history_.erase(session);
  }

 private:
  std::mutex mutex_;
  std::map<uint64_t, uint64_t> running_, history_;
};

Sessions& sessions() {
  static Sessions s;  // one server per process
  return s;
}

void release(const lmrt_runtime_api* api, lmrt_status* st) {
  if (st) api->status_release(st);
}

void chat_interactive(Server& s, const httplib::Request& req, httplib::Response& res) {
  json body = Server::json_body(req);
  int64_t sid = read_int(body, "session_id", -1, -1, INT64_MAX);
  uint64_t session = sid > 0 ? static_cast<uint64_t>(sid) : 0;
  bool interactive = read_bool(body, "interactive_mode", false);
  if (read_bool(body, "cancel", false)) {
    if (session == 0) throw invalid_request("'cancel' needs a 'session_id'", "session_id");
    uint64_t request = 0;
    if (sessions().request_of(session, request)) release(s.api(), s.api()->cancel(s.runtime(), request));
    Server::send_json(res, {{"text", ""}, {"tokens", 0}, {"input_tokens", 0}, {"history_tokens", sessions().history(session)},
                            {"finish_reason", "abort"}});
    return;
  }
  if (!body.contains("prompt")) throw invalid_request("'prompt' is required", "prompt");
  Turns turns;
  if (body["prompt"].is_string()) {
    std::string prompt = body["prompt"].get<std::string>();
    if (prompt.empty() && session != 0 && !interactive) {  // LMDeploy's way to end a session
      release(s.api(), s.api()->end_session(s.runtime(), session));
      sessions().forget(session);
      Server::send_json(res, {{"text", ""}, {"tokens", 0}, {"input_tokens", 0}, {"history_tokens", 0},
                              {"finish_reason", "stop"}});
      return;
    }
    turns.roles.push_back("user");
    turns.contents.push_back(prompt);
  } else {
    turns = parse_messages(body["prompt"], "prompt");
  }
  SamplingParams sp = parse_sampling(body, Dialect::interactive, s.defaults(), s.session_len(), s.default_stop());
  if (sp.n != 1) throw invalid_request("'n' must be 1 for interactive chat", "n");

  auto job = std::make_shared<RequestJob>(s, "chat_interactive", req);
  std::vector<lmrt_message> msgs = turns.view();
  std::vector<lmrt_str> stops;
  lmrt_gen_config g = sp.config(0, stops);
  lmrt_request_params p{};
  p.struct_size = sizeof p;
  p.input_kind = LMRT_INPUT_MESSAGES;
  p.messages = msgs.data();
  p.num_messages = static_cast<uint32_t>(msgs.size());
  p.gen = &g;
  p.session_id = session;
  p.end_session = (session != 0 && !interactive) ? 1 : 0;
  uint64_t history = session ? sessions().history(session) : 0;
  job->submit(p);
  if (session) sessions().running(session, job->generation().ids().front());
  auto finish = [session, ended = p.end_session != 0](const ChoiceResult& r) {
    if (session) sessions().done(session, r.input_tokens + r.output_tokens, ended);
  };
  auto result = [history](const ChoiceResult& r, const std::string& text, bool finished) {
    const char* reason = finished ? Server::finish_reason_name(r.finish_reason) : nullptr;
    return json{{"text", text},
                {"tokens", r.output_tokens},
                {"input_tokens", r.input_tokens},
                {"history_tokens", history},
                {"finish_reason", reason ? json(reason) : json(nullptr)}};
  };
  if (!sp.stream) {
    job->run_to_end();
    finish(job->results().front());
    throw_if_failed(*job);
    Server::send_json(res, result(job->results().front(), job->results().front().text, true));
    return;
  }
  SseStream::EventFormatter each = [result, finish](SseStream& st, const Event& ev) {
    const ChoiceResult& r = st.job().results().front();
    if (ev.finished) finish(r);
    std::vector<json> out;
    if (!ev.text.empty() || ev.finished) out.push_back(result(r, ev.text, ev.finished));
    return out;
  };
  SseStream::start(res, job, nullptr, std::move(each), nullptr, SseStream::Framing::json_lines);
}

void generate(Server& s, const httplib::Request& req, httplib::Response& res) {
  json body = Server::json_body(req);
  s.check_model(body);
  std::string prompt;
  std::vector<int32_t> ids;
  if (body.contains("input_ids") && !body["input_ids"].is_null()) {
    const json& a = body["input_ids"];
    if (!a.is_array() || a.empty()) throw invalid_request("'input_ids' must be a non-empty list of token ids", "input_ids");
    for (const auto& x : a) {
      if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > INT32_MAX)
        throw invalid_request("'input_ids' must hold non-negative integers", "input_ids");
      ids.push_back(static_cast<int32_t>(x.get<int64_t>()));
    }
  } else if (body.contains("prompt") && body["prompt"].is_string()) {
    prompt = body["prompt"].get<std::string>();
  } else {
    throw invalid_request("'prompt' (a string) or 'input_ids' is required", "prompt");
  }
  int64_t sid = read_int(body, "session_id", 0, -1, INT64_MAX);
  uint64_t session = sid > 0 ? static_cast<uint64_t>(sid) : 0;
  bool interactive = read_bool(body, "interactive_mode", false);
  SamplingParams sp = parse_sampling(body, Dialect::generate, s.defaults(), s.session_len(), s.default_stop());
  if (sp.n != 1) throw invalid_request("'n' must be 1 for /generate", "n");

  auto job = std::make_shared<RequestJob>(s, "generate", req);
  std::vector<lmrt_str> stops;
  lmrt_gen_config g = sp.config(0, stops);
  lmrt_request_params p{};
  p.struct_size = sizeof p;
  if (!ids.empty()) {
    p.input_kind = LMRT_INPUT_TOKENS;
    p.tokens = ids.data();
    p.num_tokens = static_cast<uint32_t>(ids.size());
  } else {
    p.input_kind = LMRT_INPUT_TEXT;
    p.text = lmrt_str{prompt.data(), prompt.size()};
  }
  p.gen = &g;
  p.session_id = session;
  p.end_session = (session != 0 && !interactive) ? 1 : 0;
  job->submit(p);

  auto logprobs_json = [](const std::vector<lmrt_token_logprobs>& lps) {
    json out = json::array();
    for (const auto& lp : lps) out.push_back({lp.logprob, lp.token});
    return out;
  };
  auto result = [logprobs_json, want = sp.logprobs](const ChoiceResult& r, const std::string& text,
                                                  const std::vector<int32_t>& tokens,
                                                  const std::vector<lmrt_token_logprobs>& lps, bool finished) {
    json meta = {{"prompt_tokens", r.input_tokens},
                 {"completion_tokens", r.output_tokens},
                 {"cached_tokens", r.cached_tokens},
                 {"finish_reason", nullptr}};
    if (finished) meta["finish_reason"] = {{"type", Server::finish_reason_name(r.finish_reason)}};
    json j = {{"text", text}, {"output_ids", tokens}, {"meta_info", meta}};
    if (want) j["logprobs"] = logprobs_json(lps);
    return j;
  };
  if (!sp.stream) {
    job->run_to_end();
    throw_if_failed(*job);
    const auto& r = job->results().front();
    Server::send_json(res, result(r, r.text, r.tokens, r.logprobs, true));
    return;
  }
  SseStream::EventFormatter each = [result](SseStream& st, const Event& ev) {
    std::vector<json> out;
    if (ev.tokens.empty() && !ev.finished) return out;
    out.push_back(result(st.job().results().front(), ev.text, ev.tokens, ev.logprobs, ev.finished));
    return out;
  };
  SseStream::start(res, job, nullptr, std::move(each), nullptr);
}

void encode(Server& s, const httplib::Request& req, httplib::Response& res) {
  json body = Server::json_body(req);
  if (!body.contains("input")) throw invalid_request("'input' is required", "input");
  bool preprocess = read_bool(body, "do_preprocess", false);
  bool add_bos = read_bool(body, "add_bos", true);
  const json& in = body["input"];
  std::vector<std::string> texts;
  bool single = in.is_string();
  if (single) {
    texts.push_back(in.get<std::string>());
  } else if (in.is_array()) {
    for (const auto& e : in) {
      if (!e.is_string()) throw invalid_request("'input' must be a string or a list of strings", "input");
      texts.push_back(e.get<std::string>());
    }
  } else {
    throw invalid_request("'input' must be a string or a list of strings", "input");
  }
  auto check = [&](lmrt_status* st) {
    if (!st) return;
    std::string msg = s.api()->status_get_message(st);
    s.api()->status_release(st);
    throw invalid_request(msg, "input");
  };
  json ids = json::array(), lengths = json::array();
  for (auto& text : texts) {
    if (preprocess) {
      lmrt_message m{};
      m.struct_size = sizeof m;
      m.role = lmrt_str{"user", 4};
      m.content = lmrt_str{text.data(), text.size()};
      std::string rendered;
      check(s.api()->apply_chat_template(
          s.runtime(), &m, 1, [](void* u, lmrt_str t) { static_cast<std::string*>(u)->assign(t.data, t.size); },
          &rendered));
      text = rendered;
    }
    std::vector<int32_t> out;
    check(s.api()->encode(
        s.runtime(), lmrt_str{text.data(), text.size()}, add_bos ? 1 : 0,
        [](void* u, const int32_t* t, uint32_t n) { static_cast<std::vector<int32_t>*>(u)->assign(t, t + n); }, &out));
    lengths.push_back(out.size());
    ids.push_back(out);
  }
  if (single) Server::send_json(res, {{"input_ids", ids[0]}, {"length", lengths[0]}});
  else Server::send_json(res, {{"input_ids", ids}, {"length", lengths}});
}

}  // namespace

void Server::install_lmdeploy_routes() {
  http_.Post("/v1/chat/interactive", guarded([this](const httplib::Request& req, httplib::Response& res) {
               chat_interactive(*this, req, res);
             }));
  http_.Post("/generate", guarded([this](const httplib::Request& req, httplib::Response& res) {
               generate(*this, req, res);
             }));
  http_.Post("/v1/encode", guarded([this](const httplib::Request& req, httplib::Response& res) {
               encode(*this, req, res);
             }));
}

}  // namespace lmrt::http
