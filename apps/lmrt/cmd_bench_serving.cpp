// `lmrt bench serving URL --num-prompts N --concurrency C`: load an OpenAI-compatible
// server with streaming /v1/completions requests and report what vLLM's
// benchmark_serving reports: request and token throughput, TTFT, TPOT, ITL and
// end-to-end latency (mean, median, p90, p99). Prompts are random words from a seed, so
// runs are repeatable; ignore_eos makes every request generate --output-len tokens.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.hpp"

#if LMRT_HTTP
#include <httplib.h>
#endif

namespace lmrt::app {
namespace {

struct ServingOptions {
  std::string url;
  int num_prompts = 100;
  int concurrency = 16;
  int input_len = 128;   // words of random prompt text (about as many tokens)
  int output_len = 128;  // tokens to generate per request
  uint64_t seed = 0;
  std::string model;     // empty: the first of /v1/models
  std::string api_key;
  bool json = false;
};

#if LMRT_HTTP
using Clock = std::chrono::steady_clock;

struct Sample {
  bool ok = false;
  std::string error;
  double ttft = 0, e2e = 0;
  std::vector<double> itl;
  uint64_t input_tokens = 0, output_tokens = 0;
};

std::string random_prompt(std::mt19937_64& rng, int words) {
  static const char* kWords[] = {"the", "cat", "dog", "sun", "little", "girl", "boy", "played", "park", "happy",
                                 "ball", "tree", "big", "red", "friend", "day", "mom", "said", "saw", "went"};
  std::string out;
  for (int i = 0; i < words; ++i) {
    if (i) out += ' ';
    out += kWords[rng() % (sizeof kWords / sizeof kWords[0])];
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double idx = p / 100.0 * (v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(idx)), hi = static_cast<size_t>(std::ceil(idx));
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

Sample run_one(httplib::Client& cli, const ServingOptions& o, const std::string& model, const std::string& prompt) {
  Sample s;
  nlohmann::json body = {{"model", model},      {"prompt", prompt},     {"max_tokens", o.output_len},
                         {"temperature", 0},    {"ignore_eos", true},   {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  if (!o.api_key.empty()) req.set_header("Authorization", "Bearer " + o.api_key);
  std::string buffer;
  auto start = Clock::now();
  auto last = start;
  bool first = true;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    buffer.append(data, len);
    size_t pos;
    while ((pos = buffer.find("\n\n")) != std::string::npos) {
      std::string event = buffer.substr(0, pos);
      buffer.erase(0, pos + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      std::string payload = event.substr(6);
      if (payload == "[DONE]") continue;
      auto j = nlohmann::json::parse(payload, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.contains("error")) s.error = j["error"].value("message", "error");
      if (j.contains("usage") && j["usage"].is_object()) {
        s.input_tokens = j["usage"].value("prompt_tokens", 0);
        s.output_tokens = j["usage"].value("completion_tokens", 0);
      }
      if (j.contains("choices") && !j["choices"].empty() && !j["choices"][0].value("text", "").empty()) {
        auto now = Clock::now();
        if (first) s.ttft = std::chrono::duration<double>(now - start).count();
        else s.itl.push_back(std::chrono::duration<double>(now - last).count());
        first = false;
        last = now;
      }
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  bool sent = cli.send(req, res, err);
  s.e2e = std::chrono::duration<double>(Clock::now() - start).count();
  if (!sent) s.error = "request failed: " + httplib::to_string(err);
  else if (res.status != 200) s.error = "HTTP " + std::to_string(res.status) + ": " + res.body.substr(0, 200);
  s.ok = s.error.empty() && !first;
  if (!s.ok && s.error.empty()) s.error = "no tokens came back";
  return s;
}

int run_serving(const ServingOptions& o) {
  std::string url = o.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() > 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
  std::string model = o.model;
  {
    httplib::Client probe(url);
    if (!probe.is_valid()) {
      std::cerr << "lmrt bench serving: not an http URL: " << o.url << "\n";
      return kExitFailure;
    }
    httplib::Headers h;
    if (!o.api_key.empty()) h.emplace("Authorization", "Bearer " + o.api_key);
    auto r = probe.Get("/v1/models", h);
    if (!r || r->status != 200) {
      std::cerr << "lmrt bench serving: GET " << url << "/v1/models failed ("
                << (r ? "HTTP " + std::to_string(r->status) : httplib::to_string(r.error())) << ")\n";
      return kExitFailure;
    }
    if (model.empty()) {
      auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_discarded() || !j.contains("data") || j["data"].empty()) {
        std::cerr << "lmrt bench serving: the server lists no model\n";
        return kExitFailure;
      }
      model = j["data"][0].value("id", "");
    }
  }
  std::mt19937_64 rng(o.seed);
  std::vector<std::string> prompts;
  for (int i = 0; i < o.num_prompts; ++i) prompts.push_back(random_prompt(rng, o.input_len));

  std::vector<Sample> samples(prompts.size());
  std::atomic<size_t> next{0};
  auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int w = 0; w < std::max(1, o.concurrency); ++w) {
    workers.emplace_back([&] {
      httplib::Client cli(url);
      cli.set_read_timeout(600);
      cli.set_keep_alive(true);
      for (size_t i; (i = next++) < prompts.size();) samples[i] = run_one(cli, o, model, prompts[i]);
    });
  }
  for (auto& t : workers) t.join();
  double duration = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> ttft, tpot, itl, e2e;
  uint64_t in_tok = 0, out_tok = 0;
  int ok = 0;
  std::string first_error;
  for (const auto& s : samples) {
    if (!s.ok) {
      if (first_error.empty()) first_error = s.error;
      continue;
    }
    ++ok;
    in_tok += s.input_tokens;
    out_tok += s.output_tokens;
    ttft.push_back(s.ttft * 1e3);
    e2e.push_back(s.e2e * 1e3);
    if (s.output_tokens > 1) tpot.push_back((s.e2e - s.ttft) * 1e3 / (s.output_tokens - 1));
    for (double x : s.itl) itl.push_back(x * 1e3);
  }
  auto stats = [](const std::vector<double>& v) {
    return nlohmann::json{{"mean", mean(v)}, {"median", percentile(v, 50)}, {"p90", percentile(v, 90)},
                          {"p99", percentile(v, 99)}};
  };
  nlohmann::json report = {{"url", url},
                           {"model", model},
                           {"num_prompts", o.num_prompts},
                           {"concurrency", o.concurrency},
                           {"completed", ok},
                           {"failed", o.num_prompts - ok},
                           {"duration_s", duration},
                           {"total_input_tokens", in_tok},
                           {"total_output_tokens", out_tok},
                           {"request_throughput", ok / duration},
                           {"output_throughput", out_tok / duration},
                           {"total_token_throughput", (in_tok + out_tok) / duration},
                           {"ttft_ms", stats(ttft)},
                           {"tpot_ms", stats(tpot)},
                           {"itl_ms", stats(itl)},
                           {"e2el_ms", stats(e2e)}};
  if (!first_error.empty()) report["first_error"] = first_error;
  if (o.json) {
    std::cout << report.dump() << "\n";
  } else {
    auto line = [](const char* name, const std::string& v) { std::printf("%-40s%s\n", name, v.c_str()); };
    auto f = [](double v, int digits = 2) {
      char b[64];
      std::snprintf(b, sizeof b, "%.*f", digits, v);
      return std::string(b);
    };
    std::printf("============ Serving Benchmark Result ============\n");
    line("Successful requests:", std::to_string(ok));
    line("Failed requests:", std::to_string(o.num_prompts - ok));
    line("Benchmark duration (s):", f(duration));
    line("Total input tokens:", std::to_string(in_tok));
    line("Total generated tokens:", std::to_string(out_tok));
    line("Request throughput (req/s):", f(ok / duration));
    line("Output token throughput (tok/s):", f(out_tok / duration));
    line("Total Token throughput (tok/s):", f((in_tok + out_tok) / duration));
    for (auto [title, key] : {std::pair{"Time to First Token", "ttft_ms"}, {"Time per Output Token (excl. 1st token)", "tpot_ms"},
                              {"Inter-token Latency", "itl_ms"}, {"End-to-end Latency", "e2el_ms"}}) {
      std::printf("%s\n", (std::string("---------------") + title + "----------------").c_str());
      std::string k(key);
      std::string abbrev = k.substr(0, k.find('_'));
      std::transform(abbrev.begin(), abbrev.end(), abbrev.begin(), ::toupper);
      for (const char* stat : {"mean", "median", "p90", "p99"})
        line((std::string(stat == std::string("mean") ? "Mean " : stat == std::string("median") ? "Median " : stat == std::string("p90") ? "P90 " : "P99 ") + abbrev + " (ms):").c_str(),
             f(report[k][stat].get<double>()));
    }
    std::printf("==================================================\n");
    if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  }
  return ok == o.num_prompts ? 0 : kExitFailure;
}
#endif

}  // namespace

void add_bench_serving(CLI::App& bench, Commands& cmds) {
  auto o = std::make_shared<ServingOptions>();
  auto* cmd = bench.add_subcommand("serving", "benchmark an OpenAI-compatible server: TTFT, TPOT, ITL, throughput");
  cmd->add_option("url", o->url, "http://HOST:PORT of the server")->required();
  cmd->add_option("--num-prompts", o->num_prompts, "requests to send")->check(CLI::Range(1, 1000000));
  cmd->add_option("--concurrency", o->concurrency, "requests in flight at once")->check(CLI::Range(1, 4096));
  cmd->add_option("--input-len", o->input_len, "words of random prompt per request")->check(CLI::Range(1, 1000000));
  cmd->add_option("--output-len", o->output_len, "tokens generated per request")->check(CLI::Range(1, 1000000));
  cmd->add_option("--seed", o->seed, "seed of the random prompts");
  cmd->add_option("--model", o->model, "model name to send; default: the server's first");
  cmd->add_option("--api-key", o->api_key, "bearer key");
  cmd->add_flag("--json", o->json, "print one JSON object instead of the table");
  cmd->callback([o, &cmds] {
#if LMRT_HTTP
    cmds.exit_code = run_serving(*o);
#else
    std::cerr << "lmrt bench serving: this build has no HTTP client (cpp-httplib was not found).\n";
    cmds.exit_code = kExitUnavailable;
#endif
  });
}

}  // namespace lmrt::app
