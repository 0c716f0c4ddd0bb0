// Prometheus metrics (text exposition format 0.0.4), all named lmrt_*: the server's
// own per-request timings and outcomes, plus the runtime's statistics
// (lmrt_runtime_stats_json) rendered as gauges and counters at scrape time.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lmrt::http {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}
  void observe(double v);
  void render(std::string& out, const std::string& name, const std::string& help) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  // One generation (one choice) ended: its outcome ("stop", "length", "cancelled",
  // "error") and the runtime's timings.
  void record_generation(const std::string& endpoint, const std::string& outcome, double queue_s, double ttft_s,
                         double e2e_s, uint32_t prompt_tokens, uint32_t output_tokens);
  // One HTTP response went out.
  void record_response(int status);
  // The exposition text; `stats` is the runtime's statistics document.
  std::string render(const nlohmann::json& stats, int64_t in_flight) const;

 private:
  mutable std::mutex mutex_;
  Histogram ttft_, tpot_, e2e_, queue_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // (endpoint, outcome) -> count
  std::map<int, uint64_t> responses_;                                 // HTTP status -> count
  uint64_t prompt_tokens_ = 0, output_tokens_ = 0;
};

}  // namespace lmrt::http
