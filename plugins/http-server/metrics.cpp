#include "metrics.hpp"

#include <cmath>
#include <cstdio>

namespace lmrt::http {
namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, const std::string& name, const char* type, const std::string& help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void scalar(std::string& out, const std::string& name, const char* type, const std::string& help, double v) {
  header(out, name, type, help);
  out += name + " " + num(v) + "\n";
}

double get(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

void Histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + num(sum_) + "\n" + name + "_count " + std::to_string(count_) + "\n";
}

// Buckets as vLLM's, with finer ones at the bottom for small models on a CPU.
Metrics::Metrics()
    : ttft_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
             10.0, 20.0, 40.0, 80.0}),
      tpot_({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
             0.75, 1.0, 2.5}),
      e2e_({0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
            60.0, 120.0}),
      queue_({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0}) {}

void Metrics::record_generation(const std::string& endpoint, const std::string& outcome, double queue_s,
                                double ttft_s, double e2e_s, uint32_t prompt_tokens, uint32_t output_tokens) {
  std::lock_guard lock(mutex_);
  ++requests_[{endpoint, outcome}];
  prompt_tokens_ += prompt_tokens;
  output_tokens_ += output_tokens;
  queue_.observe(queue_s);
  e2e_.observe(e2e_s);
  if (output_tokens > 0) ttft_.observe(ttft_s);
  if (output_tokens > 1) tpot_.observe((e2e_s - ttft_s) / (output_tokens - 1));
}

void Metrics::record_response(int status) {
  std::lock_guard lock(mutex_);
  ++responses_[status];
}

std::string Metrics::render(const nlohmann::json& stats, int64_t in_flight) const {
  std::string out;
  out.reserve(16384);
  {
    std::lock_guard lock(mutex_);
    header(out, "lmrt_requests_total", "counter", "Generations served, by endpoint and outcome.");
    for (const auto& [key, n] : requests_)
      out += "lmrt_requests_total{endpoint=\"" + key.first + "\",outcome=\"" + key.second + "\"} " +
             std::to_string(n) + "\n";
    header(out, "lmrt_http_responses_total", "counter", "HTTP responses, by status code.");
    for (const auto& [status, n] : responses_)
      out += "lmrt_http_responses_total{code=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
    scalar(out, "lmrt_request_prompt_tokens_total", "counter", "Prompt tokens of the generations served.",
           static_cast<double>(prompt_tokens_));
    scalar(out, "lmrt_request_generation_tokens_total", "counter", "Tokens generated for the generations served.",
           static_cast<double>(output_tokens_));
    ttft_.render(out, "lmrt_time_to_first_token_seconds", "Time from arrival to the first generated token.");
    tpot_.render(out, "lmrt_time_per_output_token_seconds", "Mean time per generated token after the first.");
    e2e_.render(out, "lmrt_e2e_request_latency_seconds", "Time from arrival to the last token.");
    queue_.render(out, "lmrt_request_queue_time_seconds", "Time from arrival to the first scheduling.");
  }
  scalar(out, "lmrt_http_requests_in_flight", "gauge", "Generation requests the server is handling now.",
         static_cast<double>(in_flight));
  scalar(out, "lmrt_num_requests_running", "gauge", "Sequences in the running batch.", get(stats, "running"));
  scalar(out, "lmrt_num_requests_waiting", "gauge", "Requests waiting to be scheduled.", get(stats, "waiting"));
  scalar(out, "lmrt_kv_blocks_total", "gauge", "KV cache blocks in the pool.", get(stats, "kv_blocks_total"));
  scalar(out, "lmrt_kv_blocks_used", "gauge", "KV cache blocks held by sequences.", get(stats, "kv_blocks_used"));
  scalar(out, "lmrt_kv_blocks_free", "gauge", "KV cache blocks free.", get(stats, "kv_blocks_free"));
  scalar(out, "lmrt_kv_blocks_cached", "gauge", "Free KV cache blocks kept for the prefix cache.",
         get(stats, "kv_blocks_cached"));
  double total = get(stats, "kv_blocks_total");
  scalar(out, "lmrt_kv_cache_usage_ratio", "gauge", "Fraction of KV cache blocks in use.",
         total > 0 ? get(stats, "kv_blocks_used") / total : 0.0);
  scalar(out, "lmrt_prefix_cache_hit_rate", "gauge", "Prompt tokens served from the prefix cache / tokens queried.",
         get(stats, "prefix_cache_hit_rate"));
  scalar(out, "lmrt_prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.",
         get(stats, "prefix_cache_query_tokens"));
  scalar(out, "lmrt_prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.",
         get(stats, "prefix_cache_hit_tokens"));
  scalar(out, "lmrt_prompt_tokens_total", "counter", "Prompt tokens prefilled by the engine.",
         get(stats, "prompt_tokens"));
  scalar(out, "lmrt_generation_tokens_total", "counter", "Tokens generated by the engine.",
         get(stats, "generated_tokens"));
  scalar(out, "lmrt_generation_tokens_per_second", "gauge", "Generated tokens per second over the last 10 s.",
         get(stats, "generation_tokens_per_second"));
  scalar(out, "lmrt_engine_steps_total", "counter", "Engine steps run.", get(stats, "steps"));
  scalar(out, "lmrt_preemptions_total", "counter", "Sequences preempted for lack of KV blocks.",
         get(stats, "preemptions"));
  header(out, "lmrt_runtime_requests_finished_total", "counter", "Requests the runtime finished, by reason.");
  if (auto it = stats.find("requests_finished"); it != stats.end() && it->is_object())
    for (const auto& [reason, n] : it->items())
      out += "lmrt_runtime_requests_finished_total{reason=\"" + reason + "\"} " +
             num(n.is_number() ? n.get<double>() : 0.0) + "\n";
  scalar(out, "lmrt_uptime_seconds", "gauge", "Seconds since the runtime started.", get(stats, "uptime_seconds"));
  return out;
}

}  // namespace lmrt::http
