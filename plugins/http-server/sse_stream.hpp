// A streaming response: runtime events become server-sent events ("data: {json}\n\n",
// ending with "data: [DONE]") or, for LMDeploy's interactive endpoint, JSON lines.
// Runs on the HTTP worker thread through httplib's chunked content provider; a
// failed write or a client that left cancels the generation.
#pragma once

#include <httplib.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "request_job.hpp"

namespace lmrt::http {

class SseStream {
 public:
  using Formatter = std::function<std::vector<nlohmann::json>(SseStream&)>;
  using EventFormatter = std::function<std::vector<nlohmann::json>(SseStream&, const Event&)>;
  enum class Framing { sse, json_lines };

  // Makes `res` stream: `first` once, `each` per event, `last` after every choice finished.
  static void start(httplib::Response& res, std::shared_ptr<RequestJob> job, Formatter first, EventFormatter each,
                    Formatter last, Framing framing = Framing::sse);

  RequestJob& job() { return *job_; }

 private:
  bool pump(httplib::DataSink& sink);
  bool write(httplib::DataSink& sink, const nlohmann::json& j);
  void abandon();

  std::shared_ptr<RequestJob> job_;
  Formatter first_, last_;
  EventFormatter each_;
  Framing framing_ = Framing::sse;
  bool started_ = false;
};

}  // namespace lmrt::http
