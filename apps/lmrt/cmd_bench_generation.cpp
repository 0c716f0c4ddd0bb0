// `lmrt bench generation MODEL --batch 1,16,64 --input 128,2048 --output 128`: static batches.
// For each (batch, input, output) all requests (random prompt ids, fixed seed, greedy,
// ignore_eos) are submitted at once; it reports time to first token, per-token latency
// percentiles (the gaps between a request's successive tokens), output tokens/s; with --hbm-gbps,
// the decode step against the HBM roofline: bytes that must be read per step (the weights once,
// an embedding row and the KV of every sequence) over the bandwidth; with --matrix-tflops, the
// prefill against the matrix rate. docs/benchmarks.md.
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
#include <sstream>

#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "commands.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/log.hpp"
#include "lmrt/core/runtime.hpp"

namespace lmrt::app {
namespace {

using Clock = std::chrono::steady_clock;

struct Timeline {
  Clock::time_point submitted;
  std::vector<Clock::time_point> tokens;
  bool done = false;
  std::string error;
};

}  // namespace

void add_bench_generation(CLI::App& bench, Commands& cmds) {
  auto* cmd = bench.add_subcommand("generation", "static-batch generation: TTFT, per-token latency, tokens/s, roofline");
  auto flags = std::make_shared<DeploymentFlags>(cmd, std::vector<std::string>{"model.", "engine."}, true);
  struct Opts {
    std::string batch = "1,16,64", input = "128,2048", output = "128", json_out;
    double hbm_gbps = 0, matrix_tflops = 0;
    uint32_t warmup = 1;
  };
  auto o = std::make_shared<Opts>();
  cmd->add_option("--batch", o->batch, "batch sizes, comma-separated");
  cmd->add_option("--input", o->input, "prompt lengths in tokens, comma-separated");
  cmd->add_option("--output", o->output, "generated tokens per request, comma-separated");
  cmd->add_option("--hbm-gbps", o->hbm_gbps, "measured device bandwidth (GB/s) for the roofline column");
  cmd->add_option("--matrix-tflops", o->matrix_tflops, "measured dense matrix rate (TFLOP/s) for the prefill column");
  cmd->add_option("--json", o->json_out, "also write the results as JSON to this file");
  cmd->add_option("--warmup", o->warmup,
                  "warm-up runs of each configuration (its batch and prompt length, 2 new tokens) before measuring it");
  cmd->callback([flags, o, &cmds] {
    try {
      const auto batches = parse_positive_list(o->batch, "bench generation", "--batch"), inputs = parse_positive_list(o->input, "bench generation", "--input"),
                 outputs = parse_positive_list(o->output, "bench generation", "--output");
      const Deployment d = flags->build();
      log::set_level(d.log_level());
      Runtime rt(d);
      const auto info = rt.info();
      const uint32_t vocab = info["vocab_size"].get<uint32_t>();
      const DenseShape shape = dense_shape(info["model_path"].get<std::string>());
      std::mt19937 rng(1234);
      auto run = [&](uint32_t batch, uint32_t input, uint32_t output) {
        std::vector<Timeline> tl(batch);
        std::mutex mu;
        std::condition_variable cv;
        size_t pending = batch;
        GenerationParams g;
        g.temperature = 0;
        g.max_new_tokens = output;
        g.min_new_tokens = output;
        g.ignore_eos = true;
        std::vector<std::vector<int32_t>> prompts(batch);
        for (auto& p : prompts) {
          p.resize(input);
          for (auto& t : p) t = static_cast<int32_t>(3 + rng() % std::max<uint32_t>(vocab - 3, 1));
        }
        const auto t0 = Clock::now();
        for (uint32_t i = 0; i < batch; ++i) {
          RequestInput in;
          in.kind = LMRT_INPUT_TOKENS;
          in.tokens = prompts[i];
          tl[i].submitted = Clock::now();
          rt.submit(in, g, [&, i](const RuntimeEvent& e) {
            const auto now = Clock::now();
            std::lock_guard lock(mu);
            for (size_t k = 0; k < e.tokens.size(); ++k) tl[i].tokens.push_back(now);
            if (e.kind == LMRT_EVENT_FINISHED) {
              tl[i].done = true;
              tl[i].error = e.error_message;
              --pending;
              cv.notify_all();
            }
          });
        }
        std::unique_lock lock(mu);
        const uint64_t peak_blocks = wait_tracking_kv_blocks(lock, cv, [&] { return pending == 0; }, rt);
        const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
        std::vector<double> ttft, gaps;
        size_t produced = 0;
        for (auto& t : tl) {
          if (!t.error.empty()) throw Error(LMRT_STATUS_INTERNAL, "bench generation: a request failed: " + t.error);
          produced += t.tokens.size();
          if (!t.tokens.empty()) ttft.push_back(std::chrono::duration<double>(t.tokens[0] - t.submitted).count());
          for (size_t k = 1; k < t.tokens.size(); ++k)
            gaps.push_back(std::chrono::duration<double>(t.tokens[k] - t.tokens[k - 1]).count());
        }
        nlohmann::json r = {{"batch", batch}, {"input", input}, {"output", output}, {"wall_s", wall},
                            {"output_tokens", produced}, {"output_tok_s", produced / wall},
                            {"ttft_mean_s", ttft.empty() ? 0 : std::accumulate(ttft.begin(), ttft.end(), 0.0) / ttft.size()},
                            {"ttft_p50_s", percentile(ttft, 50)}, {"ttft_max_s", percentile(ttft, 100)},
                            {"token_p50_ms", 1e3 * percentile(gaps, 50)}, {"token_p90_ms", 1e3 * percentile(gaps, 90)},
                            {"token_p99_ms", 1e3 * percentile(gaps, 99)}, {"peak_kv_blocks", peak_blocks},
                            {"peak_kv_bytes", peak_blocks * info["kv_block_bytes"].get<uint64_t>()}};
        if (o->hbm_gbps > 0 && shape.known() && !gaps.empty()) {
          // Decode step at the average context (input + output/2) of every sequence.
          const double bytes = shape.decode_step_bytes(batch, input + output / 2.0);
          const double floor_s = bytes / (o->hbm_gbps * 1e9);
          r["step_bytes"] = bytes;
          r["roofline_fraction"] = floor_s / percentile(gaps, 50);
        }
        // The batch's prompts are all prefilled when its last first token arrives.
        const double prefill_s = percentile(ttft, 100);
        if (shape.known() && prefill_s > 0) {
          r["prefill_tflop_s"] = batch * shape.prefill_flops(input) / prefill_s / 1e12;
          if (o->matrix_tflops > 0) r["prefill_fraction"] = r["prefill_tflop_s"].get<double>() / o->matrix_tflops;
        }
        return r;
      };
      nlohmann::json all = nlohmann::json::array();
      auto percent = [](const nlohmann::json& r, const char* key) {
        return r.contains(key) ? std::to_string(int(100 * r[key].get<double>())) + "%" : std::string("-");
      };
      std::printf("%-6s %-6s %-6s %10s %10s %10s %10s %10s %12s %9s %8s\n", "batch", "input", "output", "ttft_ms",
                  "tok_p50", "tok_p90", "tok_p99", "wall_s", "out_tok/s", "roofline", "prefill");
      for (uint32_t in : inputs)
        for (uint32_t out : outputs)
          for (uint32_t b : batches) {
            // A shape's first run pays one-time costs (cuBLAS choosing and loading kernels for its row counts, the
            // decode graph of its batch) that a serving engine pays once; they would land in this run's TTFT.
            for (uint32_t w = 0; w < o->warmup; ++w) run(b, in, std::min<uint32_t>(out, 2));
            auto r = run(b, in, out);
            std::printf("%-6u %-6u %-6u %10.2f %10.3f %10.3f %10.3f %10.3f %12.1f %9s %8s\n", b, in, out,
                        1e3 * r["ttft_mean_s"].get<double>(), r["token_p50_ms"].get<double>(),
                        r["token_p90_ms"].get<double>(), r["token_p99_ms"].get<double>(), r["wall_s"].get<double>(),
                        r["output_tok_s"].get<double>(), percent(r, "roofline_fraction").c_str(),
                        percent(r, "prefill_fraction").c_str());
            std::fflush(stdout);
            all.push_back(r);
          }
      const auto weights = info["weight_bytes"].get<uint64_t>();
      std::printf("memory: weights %.2f GiB on %s, KV pool %u blocks x %.2f MiB; peak host RSS %.2f GiB\n",
                  weights / 1073741824.0, info["device"].get<std::string>().c_str(), info["kv_blocks"].get<uint32_t>(),
                  info["kv_block_bytes"].get<uint64_t>() / 1048576.0, peak_rss_bytes() / 1073741824.0);
      if (!o->json_out.empty()) {
        std::ofstream f(o->json_out);
        f << nlohmann::json{{"info", info}, {"hbm_gbps", o->hbm_gbps}, {"matrix_tflops", o->matrix_tflops},
                            {"step_weight_bytes", shape.step_weight_bytes},
                            {"peak_rss_bytes", peak_rss_bytes()}, {"results", all}}.dump(2) << "\n";
      }
      cmds.exit_code = 0;
    } catch (const Error& e) {
      std::cerr << "lmrt bench generation: " << e.what() << "\n";
      cmds.exit_code = 1;
    }
  });
}

}  // namespace lmrt::app
