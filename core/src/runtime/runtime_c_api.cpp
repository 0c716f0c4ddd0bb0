// The runtime C API (runtime.h) over lmrt::Runtime. Every entry is noexcept in
// effect: exceptions become statuses (ABI rule 5).
#include <cstring>

#include "lmrt/core/log.hpp"
#include "lmrt/core/runtime_handle.hpp"
#include "lmrt/core/status.hpp"

namespace lmrt {
namespace {

std::string to_string(lmrt_str s) { return s.data ? std::string(s.data, s.size) : std::string(); }

template <class T>
void check_size(const T* p, const char* what) {
  if (!p) fail(LMRT_STATUS_INVALID_ARGUMENT, std::string(what) + " is NULL");
  if (p->struct_size < sizeof(T))
    fail(LMRT_STATUS_ABI_MISMATCH, std::string(what) + ".struct_size is " + std::to_string(p->struct_size) +
                                       ", expected at least " + std::to_string(sizeof(T)));
}

Runtime& rt(lmrt_runtime* h) {
  if (!h || !h->runtime) fail(LMRT_STATUS_INVALID_ARGUMENT, "runtime is NULL");
  return *h->runtime;
}

void to_c_event(const RuntimeEvent& e, lmrt_event* out) {
  std::memset(out, 0, sizeof(*out));
  out->struct_size = sizeof(*out);
  out->kind = e.kind;
  out->request_id = e.request_id;
  out->text = lmrt_str{e.text.data(), e.text.size()};
  out->num_tokens = static_cast<uint32_t>(e.tokens.size());
  out->tokens = e.tokens.empty() ? nullptr : e.tokens.data();
  out->logprobs = e.logprobs.empty() ? nullptr : e.logprobs.data();
  out->finish_reason = e.finish_reason;
  out->error_message = lmrt_str{e.error_message.data(), e.error_message.size()};
  out->input_tokens = e.input_tokens;
  out->output_tokens = e.output_tokens;
  out->cached_tokens = e.cached_tokens;
  out->queue_seconds = e.queue_seconds;
  out->first_token_seconds = e.first_token_seconds;
  out->total_seconds = e.total_seconds;
}

GenerationParams to_params(const lmrt_gen_config& g) {
  GenerationParams p;
  p.max_new_tokens = g.max_new_tokens;
  p.min_new_tokens = g.min_new_tokens;
  p.top_k = g.top_k;
  p.temperature = g.temperature;
  p.top_p = g.top_p;
  p.min_p = g.min_p;
  p.repetition_penalty = g.repetition_penalty;
  p.presence_penalty = g.presence_penalty;
  p.frequency_penalty = g.frequency_penalty;
  if (g.has_seed) p.seed = g.seed;
  p.ignore_eos = g.ignore_eos != 0;
  p.skip_special_tokens = g.skip_special_tokens != 0;
  p.logprobs = g.logprobs != 0;
  p.top_logprobs = g.top_logprobs;
  if (g.num_stop_words && !g.stop_words) fail(LMRT_STATUS_INVALID_ARGUMENT, "stop_words is NULL");
  for (uint32_t i = 0; i < g.num_stop_words; ++i) p.stop_words.push_back(to_string(g.stop_words[i]));
  if (g.num_stop_token_ids && !g.stop_token_ids) fail(LMRT_STATUS_INVALID_ARGUMENT, "stop_token_ids is NULL");
  p.stop_token_ids.assign(g.stop_token_ids, g.stop_token_ids + g.num_stop_token_ids);
  return p;
}

std::vector<ChatTurn> to_turns(const lmrt_message* messages, uint32_t n) {
  if (n && !messages) fail(LMRT_STATUS_INVALID_ARGUMENT, "messages is NULL");
  std::vector<ChatTurn> out;
  for (uint32_t i = 0; i < n; ++i) {
    check_size(&messages[i], "messages[i]");
    out.push_back({to_string(messages[i].role), to_string(messages[i].content)});
  }
  return out;
}

// ---- the entries ----

lmrt_status_code c_status_get_code(const lmrt_status* s) { return status_code(s); }
const char* c_status_get_message(const lmrt_status* s) { return status_message(s); }
void c_status_release(lmrt_status* s) { release_status(s); }

void c_gen_config_init(lmrt_gen_config* g) {
  if (!g) return;
  std::memset(g, 0, sizeof(*g));
  g->struct_size = sizeof(*g);
  g->max_new_tokens = 512;
  g->temperature = 0.8f;
  g->top_p = 1.0f;
  g->repetition_penalty = 1.0f;
  g->skip_special_tokens = 1;
}

lmrt_status* c_runtime_create(lmrt_str yaml, const char* origin, const char* base_dir, lmrt_runtime** out) {
  return guarded([&] {
    if (!out) fail(LMRT_STATUS_INVALID_ARGUMENT, "out is NULL");
    Deployment d = Deployment::parse(to_string(yaml), origin ? origin : "<deployment>", base_dir ? base_dir : "");
    log::set_level(d.log_level());  // the deployment's log_level, as the lmrt executable applies it (process-wide)
    *out = make_runtime_handle(std::make_unique<Runtime>(d)).release();
  });
}

void c_runtime_destroy(lmrt_runtime* h) { delete h; }

lmrt_status* c_submit(lmrt_runtime* h, const lmrt_request_params* params, lmrt_event_callback callback, void* user,
                      uint64_t* out_id) {
  return guarded([&] {
    Runtime& r = rt(h);
    check_size(params, "params");
    RequestInput in;
    in.kind = static_cast<lmrt_input_kind>(params->input_kind);
    switch (params->input_kind) {
      case LMRT_INPUT_TEXT: in.text = to_string(params->text); break;
      case LMRT_INPUT_MESSAGES: in.messages = to_turns(params->messages, params->num_messages); break;
      case LMRT_INPUT_TOKENS:
        if (params->num_tokens && !params->tokens) fail(LMRT_STATUS_INVALID_ARGUMENT, "tokens is NULL");
        in.tokens.assign(params->tokens, params->tokens + params->num_tokens);
        break;
      default: fail(LMRT_STATUS_INVALID_ARGUMENT, "unknown input_kind " + std::to_string(params->input_kind));
    }
    GenerationParams gen = r.default_generation();
    if (params->gen) {
      check_size(params->gen, "params->gen");
      gen = to_params(*params->gen);
    }
    EventCallback cb;
    std::shared_ptr<PulledRequest> pulled;
    if (callback) {
      cb = [callback, user](const RuntimeEvent& e) {
        lmrt_event ev;
        to_c_event(e, &ev);
        callback(user, &ev);
      };
    } else {
      pulled = std::make_shared<PulledRequest>();
      cb = [pulled](const RuntimeEvent& e) {
        {
          std::lock_guard lock(pulled->mutex);
          pulled->events.push_back(e);
        }
        pulled->ready.notify_all();
      };
    }
    uint64_t id;
    if (pulled) {
      // Register before the first event can be pulled.
      std::lock_guard lock(h->mutex);
      id = r.submit(in, gen, cb, params->session_id, params->end_session != 0);
      h->pulled[id] = pulled;
    } else {
      id = r.submit(in, gen, cb, params->session_id, params->end_session != 0);
    }
    if (out_id) *out_id = id;
  });
}

lmrt_status* c_next_event(lmrt_runtime* h, uint64_t id, int32_t timeout_ms, lmrt_event* out, int32_t* got) {
  return guarded([&] {
    rt(h);
    if (!out || !got) fail(LMRT_STATUS_INVALID_ARGUMENT, "out and got must not be NULL");
    *got = 0;
    std::shared_ptr<PulledRequest> p;
    {
      std::lock_guard lock(h->mutex);
      auto it = h->pulled.find(id);
      if (it == h->pulled.end())
        fail(LMRT_STATUS_NOT_FOUND, "request " + std::to_string(id) + " is not a pulled request of this runtime");
      p = it->second;
    }
    std::unique_lock lock(p->mutex);
    if (p->finished_taken) {
      to_c_event(p->current, out);
      *got = 1;
      return;
    }
    auto has = [&] { return !p->events.empty(); };
    if (timeout_ms < 0) p->ready.wait(lock, has);
    else if (!p->ready.wait_for(lock, std::chrono::milliseconds(timeout_ms), has)) return;
    p->current = std::move(p->events.front());
    p->events.pop_front();
    if (p->current.kind == LMRT_EVENT_FINISHED) p->finished_taken = true;
    to_c_event(p->current, out);
    *got = 1;
  });
}

void c_release_request(lmrt_runtime* h, uint64_t id) {
  if (!h || !h->runtime) return;
  bool known = false;
  {
    std::lock_guard lock(h->mutex);
    known = h->pulled.erase(id) > 0;
  }
  if (known) h->runtime->cancel(id);  // a no-op when it already finished
}

lmrt_status* c_cancel(lmrt_runtime* h, uint64_t id) {
  return guarded([&] { rt(h).cancel(id); });
}

lmrt_status* c_end_session(lmrt_runtime* h, uint64_t sid) {
  return guarded([&] { rt(h).end_session(sid); });
}

lmrt_status* c_encode(lmrt_runtime* h, lmrt_str text, int32_t add_special, lmrt_tokens_sink sink, void* user) {
  return guarded([&] {
    if (!sink) fail(LMRT_STATUS_INVALID_ARGUMENT, "sink is NULL");
    auto ids = rt(h).encode(to_string(text), add_special != 0);
    sink(user, ids.data(), static_cast<uint32_t>(ids.size()));
  });
}

lmrt_status* c_decode(lmrt_runtime* h, const int32_t* tokens, uint32_t n, int32_t skip_special, lmrt_text_sink sink,
                      void* user) {
  return guarded([&] {
    if (!sink) fail(LMRT_STATUS_INVALID_ARGUMENT, "sink is NULL");
    if (n && !tokens) fail(LMRT_STATUS_INVALID_ARGUMENT, "tokens is NULL");
    std::string text = rt(h).decode(std::vector<int32_t>(tokens, tokens + n), skip_special != 0);
    sink(user, lmrt_str{text.data(), text.size()});
  });
}

lmrt_status* c_apply_chat_template(lmrt_runtime* h, const lmrt_message* messages, uint32_t n, lmrt_text_sink sink,
                                   void* user) {
  return guarded([&] {
    if (!sink) fail(LMRT_STATUS_INVALID_ARGUMENT, "sink is NULL");
    std::string text = rt(h).apply_chat_template(to_turns(messages, n));
    sink(user, lmrt_str{text.data(), text.size()});
  });
}

lmrt_status* c_info_json(lmrt_runtime* h, lmrt_text_sink sink, void* user) {
  return guarded([&] {
    if (!sink) fail(LMRT_STATUS_INVALID_ARGUMENT, "sink is NULL");
    std::string text = rt(h).info().dump();
    sink(user, lmrt_str{text.data(), text.size()});
  });
}

lmrt_status* c_stats_json(lmrt_runtime* h, lmrt_text_sink sink, void* user) {
  return guarded([&] {
    if (!sink) fail(LMRT_STATUS_INVALID_ARGUMENT, "sink is NULL");
    std::string text = rt(h).stats().dump();
    sink(user, lmrt_str{text.data(), text.size()});
  });
}

const lmrt_runtime_api kTable = {
    sizeof(lmrt_runtime_api), LMRT_ABI_VERSION, c_status_get_code, c_status_get_message, c_status_release,
    c_gen_config_init, c_runtime_create, c_runtime_destroy, c_submit, c_next_event, c_release_request, c_cancel,
    c_end_session, c_encode, c_decode, c_apply_chat_template, c_info_json, c_stats_json,
};

}  // namespace

const lmrt_runtime_api* runtime_api_table() { return &kTable; }

std::unique_ptr<lmrt_runtime> make_runtime_handle(std::unique_ptr<Runtime> runtime) {
  auto h = std::make_unique<lmrt_runtime>();
  h->runtime = std::move(runtime);
  return h;
}

}  // namespace lmrt
