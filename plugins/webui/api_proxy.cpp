#include "api_proxy.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "http_error_text.hpp"

namespace lmrt::webui {

// The upstream request runs on a thread of its own and hands what it receives to
// the browser's response through this mailbox: httplib must know the status and
// content type before it starts writing, and writes the body from a provider that
// pulls the chunks.
struct ApiProxy::Exchange {
  Exchange(ApiProxy& owner, const std::string& upstream) : owner(owner), client(upstream) {
    std::lock_guard<std::mutex> lock(owner.mutex_);
    owner.live_.insert(this);
  }
  ~Exchange() {
    {
      std::lock_guard<std::mutex> lock(owner.mutex_);
      owner.live_.erase(this);
    }
    cancel();
    if (worker.joinable()) worker.join();
  }

  // Stops the upstream request; safe from any thread, any number of times.
  void cancel() {
    {
      std::lock_guard<std::mutex> lock(m);
      cancelled = true;
    }
    cv.notify_all();
    client.stop();  // unblocks a read in progress (thread-safe in httplib)
  }

  ApiProxy& owner;
  httplib::Client client;
  std::thread worker;
  std::mutex m;
  std::condition_variable cv;
  bool have_headers = false, done = false, cancelled = false;
  int status = 0;
  std::string content_type;
  std::string failure;  // why the upstream request failed, if it did
  std::deque<std::string> chunks;
};

namespace {

// How long the proxy waits between two pieces of an answer (a long prefill on a
// big model can take minutes before the first token).
constexpr auto kUpstreamReadTimeout = std::chrono::minutes(10);
const char* const kForwardedHeaders[] = {"Authorization", "Content-Type", "Accept"};

}  // namespace

std::string openai_error_json(const std::string& message, const std::string& type, int code) {
  nlohmann::json body = {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
  return body.dump();
}

ApiProxy::ApiProxy(std::string upstream) : upstream_(std::move(upstream)) {}

ApiProxy::~ApiProxy() { cancel_all(); }

void ApiProxy::cancel_all() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Exchange* e : live_) e->cancel();
}

void ApiProxy::handle(const httplib::Request& req, httplib::Response& res) {
  // Lives until the browser's response is over, whichever way it ends.
  auto ex = std::make_shared<Exchange>(*this, upstream_);
  ex->client.set_read_timeout(kUpstreamReadTimeout);
  ex->client.set_connection_timeout(std::chrono::seconds(10));

  httplib::Request up;
  up.method = req.method;
  up.path = req.target;  // path and query as the browser sent them
  for (const char* name : kForwardedHeaders)
    if (req.has_header(name)) up.set_header(name, req.get_header_value(name));
  up.body = req.body;
  Exchange* e = ex.get();  // the callbacks run on e->worker, which e joins before it dies
  up.response_handler = [e](const httplib::Response& r) {
    std::lock_guard<std::mutex> lock(e->m);
    e->status = r.status;
    e->content_type = r.get_header_value("Content-Type");
    e->have_headers = true;
    e->cv.notify_all();
    return !e->cancelled;
  };
  up.content_receiver = [e](const char* data, size_t n, uint64_t, uint64_t) {
    std::lock_guard<std::mutex> lock(e->m);
    if (e->cancelled) return false;
    e->chunks.emplace_back(data, n);
    e->cv.notify_all();
    return true;
  };
  ex->worker = std::thread([e, up = std::move(up)]() mutable {
    httplib::Result result = e->client.send(up);
    std::lock_guard<std::mutex> lock(e->m);
    if (!result) e->failure = http_error_text(result.error());
    e->done = true;
    e->cv.notify_all();
  });

  {
    std::unique_lock<std::mutex> lock(e->m);
    e->cv.wait(lock, [e] { return e->have_headers || e->done || e->cancelled; });
    if (!e->have_headers) {
      std::string why = e->cancelled ? "the web UI server is shutting down" : e->failure;
      lock.unlock();
      res.status = 502;
      res.set_content(openai_error_json("the api_server at " + upstream_ + " did not answer: " + why,
                                        "bad_gateway", 502),
                      "application/json");
      return;
    }
    res.status = e->status;
  }
  res.set_header("Cache-Control", "no-cache");
  std::string type = e->content_type.empty() ? "application/octet-stream" : e->content_type;
  res.set_chunked_content_provider(
      type,
      [ex](size_t, httplib::DataSink& sink) {
        std::deque<std::string> ready;
        bool done, cancelled, failed;
        {
          std::unique_lock<std::mutex> lock(ex->m);
          ex->cv.wait_for(lock, std::chrono::milliseconds(250),
                          [&] { return !ex->chunks.empty() || ex->done || ex->cancelled; });
          ready.swap(ex->chunks);
          done = ex->done;
          cancelled = ex->cancelled;
          failed = !ex->failure.empty();
        }
        for (const std::string& chunk : ready)
          if (!sink.write(chunk.data(), chunk.size())) return false;  // the browser went away
        if (cancelled || (done && failed)) return false;  // break the connection: the answer is cut short
        if (done) sink.done();
        return true;
      },
      [ex](bool) {
        ex->cancel();  // a no-op when the upstream answer is complete; else the api_server sees a disconnect
        if (ex->worker.joinable()) ex->worker.join();
      });
}

}  // namespace lmrt::webui
