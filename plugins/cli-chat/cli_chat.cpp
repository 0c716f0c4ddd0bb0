// cli-chat: multi-turn chat in the terminal over the runtime C API.
//
// Each turn renders the whole conversation through the model's chat template
// (the prefix cache, when enabled, makes earlier turns cheap) and streams the
// answer. `exit` leaves, `reset` forgets the conversation, Ctrl-C stops the
// current answer and keeps the chat. When stdin is not a terminal, turns are
// read line by line and only the answers are printed, so scripts can drive it.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "line_reader.hpp"
#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"

namespace {

lmrt::plugin::Host g_host;
constexpr const char* kName = "cli-chat";

struct Turn {
  std::string role, content;
};

class Chat {
 public:
  explicit Chat(const lmrt_frontend_context* ctx) : ctx_(ctx), api_(ctx->runtime_api), rt_(ctx->runtime) {
    YAML::Node cfg = YAML::Load(std::string(ctx->config_yaml.data, ctx->config_yaml.size));
    if (cfg.IsMap() && cfg["system_prompt"]) system_prompt_ = cfg["system_prompt"].as<std::string>();
    interactive_ = isatty(STDIN_FILENO) != 0;
  }

  void run() {
    if (interactive_) banner();
    lmrt::chat::LineReader reader(STDIN_FILENO);
    for (;;) {
      if (interactive_) print(">>> ");
      std::string line;
      auto r = reader.read_line(line);
      if (r == lmrt::chat::LineReader::Result::end) break;
      if (r == lmrt::chat::LineReader::Result::interrupted) {
        print("\n(type exit to leave)\n");
        seen_interrupts_ = ctx_->interrupt_count(ctx_->host->host_context);
        continue;
      }
      if (line == "exit") break;
      if (line == "reset") {
        history_.clear();
        if (interactive_) print("(the conversation was reset)\n");
        continue;
      }
      if (line.empty()) continue;
      answer(line);
    }
    if (interactive_) print("\n");
  }

 private:
  void banner() {
    std::string info;
    check(api_->info_json(rt_, [](void* u, lmrt_str t) { static_cast<std::string*>(u)->assign(t.data, t.size); },
                          &info));
    // One line a person reads: the model, its template, where it runs and how long a conversation may be.
    const nlohmann::json j = nlohmann::json::parse(info, nullptr, false);
    std::string line = info;
    if (j.is_object())
      line = j.value("model_name", std::string("?")) + " (" + j.value("architecture", std::string("?")) +
             ", chat template " + j.value("chat_template", std::string("?")) + ") on " +
             j.value("device", std::string("?")) + ", session_len " + std::to_string(j.value("session_len", 0));
    print("lmrt chat: " + line + "\ntype exit to leave, reset to start over; Ctrl-C stops an answer\n");
  }

  void answer(const std::string& user_text) {
    std::vector<Turn> turns;
    if (!system_prompt_.empty()) turns.push_back({"system", system_prompt_});
    turns.insert(turns.end(), history_.begin(), history_.end());
    turns.push_back({"user", user_text});
    std::vector<lmrt_message> msgs;
    for (const auto& t : turns) {
      lmrt_message m{};
      m.struct_size = sizeof(m);
      m.role = lmrt::plugin::to_str(t.role);
      m.content = lmrt::plugin::to_str(t.content);
      msgs.push_back(m);
    }
    lmrt_request_params p{};
    p.struct_size = sizeof(p);
    p.input_kind = LMRT_INPUT_MESSAGES;
    p.messages = msgs.data();
    p.num_messages = static_cast<uint32_t>(msgs.size());
    uint64_t id = 0;
    lmrt_status* st = api_->submit(rt_, &p, nullptr, nullptr, &id);
    if (st) {
      bool full = api_->status_get_code(st) == LMRT_STATUS_CAPACITY;
      std::string msg = api_->status_get_message(st);
      api_->status_release(st);
      if (full) {
        print("[the session is full: " + msg + "]\n[type reset to start a new conversation]\n");
        return;
      }
      throw lmrt::plugin::Error(LMRT_STATUS_INTERNAL, msg);
    }
    seen_interrupts_ = ctx_->interrupt_count(ctx_->host->host_context);
    std::string reply;
    bool cancelled = false;
    for (;;) {
      uint64_t now = ctx_->interrupt_count(ctx_->host->host_context);
      if (now != seen_interrupts_ && !cancelled) {
        seen_interrupts_ = now;
        cancelled = true;
        check(api_->cancel(rt_, id));
      }
      lmrt_event ev{};
      int32_t got = 0;
      check(api_->next_event(rt_, id, 100, &ev, &got));
      if (!got) continue;
      std::string piece(ev.text.data ? ev.text.data : "", ev.text.size);
      reply += piece;
      print(piece);
      if (ev.kind == LMRT_EVENT_FINISHED) {
        std::string note(ev.error_message.data ? ev.error_message.data : "", ev.error_message.size);
        if (ev.finish_reason == LMRT_FINISH_CANCELLED) print(" [stopped]");
        if (ev.finish_reason == LMRT_FINISH_ERROR) print("\n[error: " + note + "]");
        print("\n");
        if (ev.finish_reason == LMRT_FINISH_LENGTH && !note.empty())
          print("[the session is full: " + note + "; type reset to start a new conversation]\n");
        break;
      }
    }
    api_->release_request(rt_, id);
    history_.push_back({"user", user_text});
    history_.push_back({"assistant", reply});
  }

  void check(lmrt_status* st) {
    if (!st) return;
    std::string msg = api_->status_get_message(st);
    lmrt_status_code code = api_->status_get_code(st);
    api_->status_release(st);
    throw lmrt::plugin::Error(code, msg);
  }

  static void print(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
  }

  const lmrt_frontend_context* ctx_;
  const lmrt_runtime_api* api_;
  lmrt_runtime* rt_;
  std::string system_prompt_;
  std::vector<Turn> history_;
  bool interactive_ = false;
  uint64_t seen_interrupts_ = 0;
};

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    if (!ctx || ctx->struct_size < sizeof(lmrt_frontend_context) || !ctx->runtime || !ctx->runtime_api)
      throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "cli-chat needs a runtime");
    Chat(ctx).run();
  });
}

const lmrt_frontend_api kApi = {sizeof(lmrt_frontend_api), 1, run};

}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, kName);
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_FRONTEND;
    d->name = kName;
    d->version = "0.1.0";
    d->description = "interactive terminal chat (lmrt chat)";
    d->api = &kApi;
  });
}
