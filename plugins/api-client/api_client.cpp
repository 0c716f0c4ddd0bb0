// api-client: `lmrt serve api_client http://HOST:PORT [--api-key K]`, multi-turn
// chat in the terminal with an api_server over /v1/chat/completions, streamed.
//
// It behaves like `lmrt chat`: `exit` leaves, `reset` forgets the conversation,
// Ctrl-C stops the current answer (its connection is closed, so the server cancels
// the generation) and keeps the chat. When stdin is not a terminal, turns are read
// line by line and only the answers are printed, so scripts can drive it; there a
// failed turn ends the program with the error, while at a terminal it is reported
// and the chat goes on. The model is the first one /v1/models lists.
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "line_reader.hpp"
#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"
#include "openai_client.hpp"

namespace {

lmrt::plugin::Host g_host;
constexpr const char* kName = "api-client";

struct Options {
  std::string url = "http://127.0.0.1:23333";
  std::string api_key;
};

Options read_options(const lmrt_frontend_context* ctx) {
  Options o;
  YAML::Node cfg = YAML::Load(std::string(ctx->config_yaml.data, ctx->config_yaml.size));
  if (cfg.IsMap()) {
    if (cfg["url"]) o.url = cfg["url"].as<std::string>();
    if (cfg["api_key"]) o.api_key = cfg["api_key"].as<std::string>();
  }
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  if (o.url.rfind("http://", 0) != 0 || o.url.size() <= 7 || o.url.find('/', 7) != std::string::npos)
    throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT,
                              "api_client: the api_server URL must look like http://HOST:PORT (got '" + o.url +
                                  "'; https is not supported)");
  return o;
}

void print(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

class Chat {
 public:
  Chat(const lmrt_frontend_context* ctx, const Options& o)
      : ctx_(ctx), url_(o.url), client_(o.url, o.api_key), interactive_(isatty(STDIN_FILENO) != 0) {}

  void run() {
    model_ = client_.models().front();
    if (interactive_)
      print("lmrt api_client: " + model_ + " at " + url_ +
            "\ntype exit to leave, reset to start over; Ctrl-C stops an answer\n");
    lmrt::chat::LineReader reader(STDIN_FILENO);
    for (;;) {
      if (interactive_) print(">>> ");
      std::string line;
      auto r = reader.read_line(line);
      if (r == lmrt::chat::LineReader::Result::end) break;
      if (r == lmrt::chat::LineReader::Result::interrupted) {
        print("\n(type exit to leave)\n");
        continue;
      }
      if (line == "exit") break;
      if (line == "reset") {
        history_ = nlohmann::json::array();
        if (interactive_) print("(the conversation was reset)\n");
        continue;
      }
      if (line.empty()) continue;
      answer(line);
    }
    if (interactive_) print("\n");
  }

 private:
  uint64_t interrupts() const { return ctx_->interrupt_count(ctx_->host->host_context); }

  void answer(const std::string& user_text) {
    nlohmann::json messages = history_;
    messages.push_back({{"role", "user"}, {"content", user_text}});
    nlohmann::json request = {{"model", model_}, {"messages", messages}};

    // The request runs on a worker so that this thread can watch for Ctrl-C even
    // while the server is silent (a long prefill) and close the connection.
    std::string reply, finish;
    std::exception_ptr failure;
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::thread worker([&] {
      try {
        finish = client_.stream_chat(request, [&](const std::string& piece) {
          reply += piece;
          print(piece);
        });
      } catch (...) {
        failure = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(m);
      done = true;
      cv.notify_all();
    });
    uint64_t seen = interrupts();
    {
      std::unique_lock<std::mutex> lock(m);
      while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
        if (interrupts() != seen) {
          seen = interrupts();
          client_.stop();
        }
      }
    }
    worker.join();

    if (failure) {
      if (!interactive_) std::rethrow_exception(failure);
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        print((reply.empty() ? "" : "\n") + std::string("[error: ") + e.what() + "]\n");
      }
      return;  // the turn did not happen; it is not added to the conversation
    }
    if (finish == "cancelled") print(" [stopped]");
    print("\n");
    if (finish == "length" && interactive_) print("[the answer reached its token limit]\n");
    history_.push_back(messages.back());
    history_.push_back({{"role", "assistant"}, {"content", reply}});
  }

  const lmrt_frontend_context* ctx_;
  std::string url_;
  lmrt::api_client::OpenAiClient client_;
  bool interactive_;
  std::string model_;
  nlohmann::json history_ = nlohmann::json::array();
};

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    if (!ctx || ctx->struct_size < sizeof(lmrt_frontend_context) || !ctx->interrupt_count)
      throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "api_client: incomplete frontend context");
    Options o = read_options(ctx);
    Chat(ctx, o).run();
  });
}

const lmrt_frontend_api kApi = {sizeof(lmrt_frontend_api), 0, run};

}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, kName);
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_FRONTEND;
    d->name = kName;
    d->version = "0.1.0";
    d->description = "terminal chat with an api_server (lmrt serve api_client)";
    d->api = &kApi;
  });
}
