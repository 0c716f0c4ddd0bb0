#include "sse_stream.hpp"

#include <chrono>

namespace lmrt::http {

void SseStream::start(httplib::Response& res, std::shared_ptr<RequestJob> job, Formatter first, EventFormatter each,
                      Formatter last, Framing framing) {
  auto st = std::make_shared<SseStream>();
  st->job_ = std::move(job);
  st->first_ = std::move(first);
  st->each_ = std::move(each);
  st->last_ = std::move(last);
  st->framing_ = framing;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      framing == Framing::sse ? "text/event-stream" : "application/x-ndjson",
      [st](size_t, httplib::DataSink& sink) { return st->pump(sink); },
      [st](bool success) {
        if (!success) st->abandon();
      });
}

bool SseStream::write(httplib::DataSink& sink, const nlohmann::json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s = framing_ == Framing::sse ? "data: " + s + "\n\n" : s + "\n";
  return sink.write(s.data(), s.size());
}

// The client is gone: cancel, and take the FINISHED events (within a step or two) so
// the metrics count the request.
void SseStream::abandon() {
  job_->generation().cancel();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  Event ev;
  while (!job_->done() && std::chrono::steady_clock::now() < deadline) job_->next(ev, 20);
}

bool SseStream::pump(httplib::DataSink& sink) {
  if (!started_) {
    started_ = true;
    if (first_)
      for (const auto& j : first_(*this))
        if (!write(sink, j)) return abandon(), false;
    if (!job_->done()) return true;
  }
  Event ev;
  bool got = false;
  while (!job_->done() && !(got = job_->next(ev, 50))) {
    if (job_->client_gone()) return abandon(), false;
  }
  if (job_->client_gone()) return abandon(), false;
  if (got)
    for (const auto& j : each_(*this, ev))
      if (!write(sink, j)) return abandon(), false;
  if (job_->done()) {
    if (last_)
      for (const auto& j : last_(*this))
        if (!write(sink, j)) return false;
    if (framing_ == Framing::sse) {
      static const char kDone[] = "data: [DONE]\n\n";
      if (!sink.write(kDone, sizeof kDone - 1)) return false;
    }
    sink.done();
  }
  return true;
}

}  // namespace lmrt::http
