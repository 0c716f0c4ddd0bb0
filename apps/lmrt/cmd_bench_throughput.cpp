// `lmrt bench throughput MODEL --num-prompts 1000 --concurrency N`: offline throughput, as vLLM's
// benchmark_throughput measures it. Prompt and output lengths come from a ShareGPT-like distribution drawn with a
// fixed seed (docs/benchmarks.md); prompts are random token ids, decoding is greedy with ignore_eos, so every
// request produces exactly its drawn output length. --concurrency 0 submits everything at once; N keeps at most N
// requests in flight. Reports requests/s, output and total tokens/s, TTFT and TPOT percentiles, peak KV use.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <random>

#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "commands.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"

namespace lmrt::app {
namespace {

using Clock = std::chrono::steady_clock;

// Log-normal lengths shaped like ShareGPT conversations (vLLM's dataset): medians 128 (input) and 128 (output),
// log-sigma 1.0 and 0.8 (means about 211 and 176), each clipped to [4, 1024]; a pair longer than the session
// is shortened, output first to half the session, then the input to what is left.
struct LengthPair {
  uint32_t input, output;
};

std::vector<LengthPair> sharegpt_like_lengths(uint32_t n, uint64_t seed, uint32_t session_len) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> in_len(std::log(128.0), 1.0), out_len(std::log(128.0), 0.8);
  auto clip = [](double v) { return static_cast<uint32_t>(std::clamp(std::lround(v), 4L, 1024L)); };
  std::vector<LengthPair> out(n);
  for (auto& p : out) {
    p.input = clip(in_len(rng));
    p.output = clip(out_len(rng));
    if (p.input + p.output > session_len) {
      p.output = std::max<uint32_t>(1, std::min(p.output, session_len / 2));
      p.input = std::max<uint32_t>(1, std::min(p.input, session_len - p.output));
    }
  }
  return out;
}

struct Track {
  Clock::time_point submitted, first, last;
  uint32_t tokens = 0;
  std::string error;
};

}  // namespace

void add_bench_throughput(CLI::App& bench, Commands& cmds) {
  auto* cmd = bench.add_subcommand("throughput", "offline throughput over ShareGPT-like lengths: requests/s, tokens/s");
  auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"model.", "engine."}, true);
  struct Opts {
    uint32_t num_prompts = 1000, concurrency = 0;
    uint64_t seed = 0;
    std::string json_out;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--num-prompts", o->num_prompts, "requests to run")->check(CLI::Range(1u, 1000000u));
  cmd->add_option("--concurrency", o->concurrency, "most requests in flight (0 = all at once)");
  cmd->add_option("--seed", o->seed, "seed of the lengths and the prompt ids");
  cmd->add_option("--json", o->json_out, "also write the results as JSON to this file");
  cmd->callback([flags, o, &cmds] {
    try {
      const Deployment d = flags->build();
      log::set_level(d.log_level());
      const uint32_t n = o->num_prompts;
      // What the callbacks touch outlives the runtime, which finishes every request before it goes.
      std::vector<Track> tracks(n);
      std::mutex mu;
      std::condition_variable cv;
      uint32_t next = 0, finished = 0;
      Runtime rt(d);
      const auto info = rt.info();
      const uint32_t vocab = info["vocab_size"].get<uint32_t>();
      const auto lengths = sharegpt_like_lengths(n, o->seed, info["session_len"].get<uint32_t>());
      std::mt19937 ids(static_cast<uint32_t>(o->seed * 2654435761u + 1));
      const uint32_t window = o->concurrency == 0 ? n : std::min(o->concurrency, n);

      GenerationParams g = rt.default_generation();
      g.temperature = 0;
      g.ignore_eos = true;
      auto submit = [&](uint32_t i) {  // called without `mu` held
        RequestInput in;
        in.kind = LMRT_INPUT_TOKENS;
        in.tokens.resize(lengths[i].input);
        for (auto& t : in.tokens) t = static_cast<int32_t>(3 + ids() % std::max<uint32_t>(vocab - 3, 1));
        GenerationParams gi = g;
        gi.max_new_tokens = gi.min_new_tokens = lengths[i].output;
        {
          std::lock_guard lock(mu);
          tracks[i].submitted = Clock::now();
        }
        rt.submit(in, gi, [&, i](const RuntimeEvent& e) {
          const auto now = Clock::now();
          std::lock_guard lock(mu);
          Track& t = tracks[i];
          if (!e.tokens.empty()) {
            if (t.tokens == 0) t.first = now;
            t.last = now;
            t.tokens += static_cast<uint32_t>(e.tokens.size());
          }
          if (e.kind == LMRT_EVENT_FINISHED) {
            t.error = e.error_message;
            ++finished;
            cv.notify_all();
          }
        });
      };

      const auto t0 = Clock::now();
      uint64_t peak_blocks = 0;
      for (; next < window; ++next) submit(next);
      std::unique_lock lock(mu);
      while (finished < n) {
        // keep `window` requests in flight: wake when one finishes and there is more to submit
        const auto room = [&] { return next < std::min(n, finished + window) || finished == n; };
        peak_blocks = std::max(peak_blocks, wait_tracking_kv_blocks(lock, cv, room, rt));
        while (next < std::min(n, finished + window)) {
          const uint32_t i = next++;
          lock.unlock();
          submit(i);
          lock.lock();
        }
      }
      const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
      lock.unlock();

      uint64_t in_tokens = 0, out_tokens = 0, expected_out = 0;
      std::vector<double> ttft, tpot;
      for (uint32_t i = 0; i < n; ++i) {
        const Track& t = tracks[i];
        if (!t.error.empty()) throw Error(LMRT_STATUS_INTERNAL, "bench throughput: request " + std::to_string(i) + " failed: " + t.error);
        in_tokens += lengths[i].input;
        expected_out += lengths[i].output;
        out_tokens += t.tokens;
        if (t.tokens > 0) ttft.push_back(std::chrono::duration<double>(t.first - t.submitted).count());
        if (t.tokens > 1) tpot.push_back(std::chrono::duration<double>(t.last - t.first).count() / (t.tokens - 1));
      }
      const auto stats = rt.stats();
      nlohmann::json r = {
          {"num_prompts", n}, {"concurrency", o->concurrency}, {"seed", o->seed}, {"wall_s", wall},
          {"input_tokens", in_tokens}, {"output_tokens", out_tokens}, {"expected_output_tokens", expected_out},
          {"requests_per_s", n / wall}, {"output_tok_s", out_tokens / wall}, {"total_tok_s", (in_tokens + out_tokens) / wall},
          {"ttft_mean_ms", ttft.empty() ? 0 : 1e3 * std::accumulate(ttft.begin(), ttft.end(), 0.0) / ttft.size()},
          {"ttft_p50_ms", 1e3 * percentile(ttft, 50)}, {"ttft_p99_ms", 1e3 * percentile(ttft, 99)},
          {"tpot_mean_ms", tpot.empty() ? 0 : 1e3 * std::accumulate(tpot.begin(), tpot.end(), 0.0) / tpot.size()},
          {"tpot_p50_ms", 1e3 * percentile(tpot, 50)}, {"tpot_p99_ms", 1e3 * percentile(tpot, 99)},
          {"peak_kv_blocks", peak_blocks}, {"kv_blocks", info["kv_blocks"]}, {"preemptions", stats["preemptions"]},
          {"peak_rss_bytes", peak_rss_bytes()}};
      std::printf("%u requests (concurrency %s), %llu input + %llu output tokens in %.3f s\n", n,
                  o->concurrency ? std::to_string(o->concurrency).c_str() : "all", static_cast<unsigned long long>(in_tokens),
                  static_cast<unsigned long long>(out_tokens), wall);
      std::printf("throughput: %.2f requests/s, %.1f output tokens/s, %.1f total tokens/s\n", r["requests_per_s"].get<double>(),
                  r["output_tok_s"].get<double>(), r["total_tok_s"].get<double>());
      std::printf("TTFT ms: mean %.2f p50 %.2f p99 %.2f; TPOT ms: mean %.3f p50 %.3f p99 %.3f\n",
                  r["ttft_mean_ms"].get<double>(), r["ttft_p50_ms"].get<double>(), r["ttft_p99_ms"].get<double>(),
                  r["tpot_mean_ms"].get<double>(), r["tpot_p50_ms"].get<double>(), r["tpot_p99_ms"].get<double>());
      std::printf("KV: peak %llu of %u blocks, %llu preemptions; peak host RSS %.2f GiB\n",
                  static_cast<unsigned long long>(peak_blocks), info["kv_blocks"].get<uint32_t>(),
                  static_cast<unsigned long long>(stats["preemptions"].get<uint64_t>()), peak_rss_bytes() / 1073741824.0);
      if (!o->json_out.empty()) {
        std::ofstream f(o->json_out);
        f << nlohmann::json{{"info", info}, {"result", r}}.dump(2) << "\n";
      }
      cmds.exit_code = out_tokens == expected_out ? 0 : kExitFailure;
      if (out_tokens != expected_out)
        std::cerr << "lmrt bench throughput: produced " << out_tokens << " tokens, expected " << expected_out << "\n";
    } catch (const Error& e) {
      std::cerr << "lmrt bench throughput: " << e.what() << "\n";
      cmds.exit_code = kExitFailure;
    }
  });
}

}  // namespace lmrt::app
