// webui: `lmrt serve webui http://HOST:PORT --server-port 6006` serves the embedded
// chat page on a port of its own and forwards the page's v1/* requests to the
// api_server at frontends.webui.url (LMDeploy's gradio page plays this part). It
// needs no model: the api_server has it. SIGINT/SIGTERM stop it cleanly.
#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "api_proxy.hpp"
#include "http_error_text.hpp"
#include "lmrt/frontend.h"
#include "lmrt/plugin.hpp"
#include "webui_assets.hpp"

namespace {

lmrt::plugin::Host g_host;
constexpr const char* kName = "webui";
// Browsers open several connections per page and each streamed answer holds one.
constexpr size_t kServerThreads = 32;
// Bodies carry a conversation and maybe a base64 image; the api_server applies its own limit.
constexpr size_t kMaxBodyBytes = 64u << 20;

struct Options {
  std::string url = "http://127.0.0.1:23333";
  std::string server_name = "127.0.0.1";
  int server_port = 6006;
};

Options read_options(const lmrt_frontend_context* ctx) {
  Options o;
  YAML::Node cfg = YAML::Load(std::string(ctx->config_yaml.data, ctx->config_yaml.size));
  if (cfg.IsMap()) {
    if (cfg["url"]) o.url = cfg["url"].as<std::string>();
    if (cfg["server_name"]) o.server_name = cfg["server_name"].as<std::string>();
    if (cfg["server_port"]) o.server_port = cfg["server_port"].as<int>();
  }
  while (!o.url.empty() && o.url.back() == '/') o.url.pop_back();
  // httplib's client here speaks plain HTTP only (no TLS in Debian's build).
  if (o.url.rfind("http://", 0) != 0 || o.url.size() <= 7 || o.url.find('/', 7) != std::string::npos)
    throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT,
                              "webui: the api_server URL must look like http://HOST:PORT (got '" + o.url + "')");
  return o;
}

void serve_assets(const httplib::Request& req, httplib::Response& res) {
  const lmrt::webui::Asset* asset = lmrt::webui::find_asset(req.path);
  if (!asset) {
    res.status = 404;
    res.set_content("not found: " + req.path + "\n", "text/plain; charset=utf-8");
    return;
  }
  res.set_header("Content-Security-Policy", lmrt::webui::kContentSecurityPolicy);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(asset->data.data(), asset->data.size(), asset->mime);
}

// Says at start-up whether the api_server answers; the page keeps working (it shows
// the error) either way, so this only warns.
void probe_upstream(const Options& o) {
  httplib::Client client(o.url);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  httplib::Result r = client.Get("/health");
  if (!r)
    g_host.log(LMRT_LOG_WARN, "the api_server at " + o.url + " does not answer (" +
                                     lmrt::webui::http_error_text(r.error()) + "); the page will say so until it does");
}

void run_server(const lmrt_frontend_context* ctx) {
  Options o = read_options(ctx);
  lmrt::webui::ApiProxy proxy(o.url);  // outlives the server, whose handlers use it
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  server.set_payload_max_length(kMaxBodyBytes);
  // An idle browser connection holds a worker until this passes, and so delays a shutdown.
  server.set_keep_alive_timeout(1);
  // httplib's default adds SO_REUSEPORT, with which a second server silently shares a
  // port that is already taken; SO_REUSEADDR alone still allows a quick restart.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  auto forward = [&proxy](const httplib::Request& req, httplib::Response& res) { proxy.handle(req, res); };
  server.Get(R"(/v1/.*)", forward);
  server.Post(R"(/v1/.*)", forward);
  server.Get(R"(/.*)", serve_assets);

  if (!server.bind_to_port(o.server_name.c_str(), o.server_port))
    throw lmrt::plugin::Error(LMRT_STATUS_IO_ERROR, "webui: cannot listen on " + o.server_name + ":" +
                                                         std::to_string(o.server_port) +
                                                         " (is the port in use, or the address not this machine's?)");
  probe_upstream(o);
  std::string where = "http://" + o.server_name + ":" + std::to_string(o.server_port) + "/";
  g_host.log(LMRT_LOG_INFO, "serving the chat page at " + where + " for the api_server at " + o.url);

  std::atomic<bool> listening{true};
  std::thread listener([&] {
    server.listen_after_bind();
    listening = false;
  });
  uint64_t seen = ctx->interrupt_count(ctx->host->host_context);
  while (ctx->interrupt_count(ctx->host->host_context) == seen && listening)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  g_host.log(LMRT_LOG_INFO, "stopping");
  proxy.cancel_all();  // streamed answers end now rather than at their last token
  // stop() does nothing until the listener thread has started listening, so repeat it.
  while (listening) {
    server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  listener.join();
}

lmrt_status* run(const lmrt_frontend_context* ctx) {
  return g_host.guard([&] {
    if (!ctx || ctx->struct_size < sizeof(lmrt_frontend_context) || !ctx->interrupt_count)
      throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "webui: incomplete frontend context");
    run_server(ctx);
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
    d->description = "the web chat page for an api_server (lmrt serve webui)";
    d->api = &kApi;
  });
}
