// Decode and prefill throughput of the cpu engine on random weights.
//   lmrt_cpu_engine_bench [stories260k|small|medium] [num_threads] [batch]
// Prints tokens/s and, for decode, the weight bytes streamed per second.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine_harness.hpp"
#include "random_model.hpp"

using namespace cpu_test;

int main(int argc, char** argv) {
  const std::string preset = argc > 1 ? argv[1] : "stories260k";
  const std::string threads = argc > 2 ? argv[2] : "0";
  const uint32_t batch = argc > 3 ? static_cast<uint32_t>(std::atoi(argv[3])) : 1;
  ModelSpec s;
  if (preset == "stories260k") {  // ../shared/testdata/models/stories260k's shapes
    s.vocab_size = 512, s.hidden_size = 64, s.intermediate_size = 172, s.num_layers = 5;
    s.num_heads = 8, s.num_kv_heads = 4, s.head_dim = 8;
  } else if (preset == "small") {  // ~110M parameters
    s.vocab_size = 32000, s.hidden_size = 768, s.intermediate_size = 2048, s.num_layers = 12;
    s.num_heads = 12, s.num_kv_heads = 4, s.head_dim = 64;
  } else if (preset == "medium") {  // ~0.5B parameters, Qwen2-0.5B-like
    s.vocab_size = 32000, s.hidden_size = 896, s.intermediate_size = 4864, s.num_layers = 24;
    s.num_heads = 14, s.num_kv_heads = 2, s.head_dim = 64;
  } else {
    std::fprintf(stderr, "unknown preset %s\n", preset.c_str());
    return 2;
  }
  if (!cpu_plugin().error.empty()) {
    std::fprintf(stderr, "%s\n", cpu_plugin().error.c_str());
    return 1;
  }
  RandomModel model(s);
  Result r;
  auto engine = Engine::create(model.desc(), "num_threads: " + threads, &r);
  if (!engine) {
    std::fprintf(stderr, "create: %s\n", r.message.c_str());
    return 1;
  }
  const uint32_t B = 64, prompt = 128, decode = preset == "stories260k" ? 256 : 32;
  const uint32_t per_seq = (prompt + decode + B - 1) / B;
  if (Result a = engine->allocate(per_seq * batch, B); !a.ok()) {
    std::fprintf(stderr, "allocate: %s\n", a.message.c_str());
    return 1;
  }
  lmrt_capacity cap{};
  lmrt_capacity_query q{sizeof q, B, 0.5f, batch, prompt * batch, prompt + decode};
  engine->capacity(q, &cap);

  std::vector<std::vector<int32_t>> tokens(batch), tables(batch);
  for (uint32_t b = 0; b < batch; ++b) {
    for (uint32_t i = 0; i < prompt; ++i) tokens[b].push_back(static_cast<int32_t>((b * 131 + i * 7) % s.vocab_size));
    for (uint32_t j = 0; j < per_seq; ++j) tables[b].push_back(static_cast<int32_t>(b * per_seq + j));
  }
  lmrt_sampling_params sampling{};
  sampling.struct_size = sizeof sampling;
  sampling.temperature = 0.f, sampling.top_p = 1.f, sampling.repetition_penalty = 1.f;
  using clock = std::chrono::steady_clock;
  std::vector<lmrt_token_logprobs> out;

  std::vector<lmrt_step_seq> seqs;
  for (uint32_t b = 0; b < batch; ++b) seqs.push_back(make_seq(b, tokens[b].data(), prompt, 0, tables[b], &sampling));
  auto t0 = clock::now();
  if (Result sr = engine->step(seqs, &out); !sr.ok()) return std::fprintf(stderr, "%s\n", sr.message.c_str()), 1;
  const double prefill_s = std::chrono::duration<double>(clock::now() - t0).count();

  t0 = clock::now();
  for (uint32_t i = 0; i < decode; ++i) {
    seqs.clear();
    for (uint32_t b = 0; b < batch; ++b) {
      tokens[b].push_back(out[b].token);
      const uint32_t pos = static_cast<uint32_t>(tokens[b].size() - 1);
      seqs.push_back(make_seq(b, &tokens[b][pos], 1, pos, tables[b], &sampling));
    }
    if (Result sr = engine->step(seqs, &out); !sr.ok()) return std::fprintf(stderr, "%s\n", sr.message.c_str()), 1;
  }
  const double decode_s = std::chrono::duration<double>(clock::now() - t0).count();
  const double steps_per_s = decode / decode_s;
  // A decode step reads every weight once except the embedding table (one row per token).
  const double streamed = double(cap.weight_bytes) - 4.0 * s.vocab_size * s.hidden_size;
  std::printf("preset %s, %s, weights %.1f MB fp32, batch %u\n", preset.c_str(), cap.device, cap.weight_bytes / 1e6,
              batch);
  std::printf("prefill: %u tokens x %u seqs in %.3f s = %.0f tokens/s\n", prompt, batch, prefill_s,
              prompt * batch / prefill_s);
  std::printf("decode: %u steps in %.3f s = %.1f steps/s = %.1f tokens/s, %.2f GB/s of weights read\n", decode, decode_s,
              steps_per_s, steps_per_s * batch, steps_per_s * streamed / 1e9);
  return 0;
}
