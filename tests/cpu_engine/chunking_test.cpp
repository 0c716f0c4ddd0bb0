// How a prompt is split into steps never changes a single bit of the result.
#include <string>

#include "test_util.hpp"

namespace cpu_test {
namespace {

struct Trace {
  std::vector<lmrt_token_logprobs> outputs;  // the prompt's last output, then one per decode step
};

// Prefills `prompt` in chunks of `chunk` tokens (0 = all at once), then decodes
// `decode_steps` tokens with seeded sampling, feeding each sampled token back.
Trace run(Engine& engine, uint64_t seq_id, const std::vector<int32_t>& prompt, uint32_t chunk,
          const std::vector<int32_t>& blocks, uint32_t decode_steps) {
  lmrt_sampling_params sampling = random_params(1234, 0.9f);
  sampling.top_k = 8;
  Trace trace;
  std::vector<lmrt_token_logprobs> out;
  const uint32_t n = static_cast<uint32_t>(prompt.size());
  const uint32_t step = chunk == 0 ? n : chunk;
  for (uint32_t pos = 0; pos < n; pos += step) {
    const uint32_t count = std::min(step, n - pos);
    const bool last = pos + count == n;
    const Result r = engine.step({make_seq(seq_id, &prompt[pos], count, pos, blocks, last ? &sampling : nullptr)}, &out);
    EXPECT_TRUE(r.ok()) << r.message;
    if (!last) EXPECT_EQ(out[0].token, -1) << "a chunk without sampling reports no token";
  }
  trace.outputs.push_back(out[0]);
  std::vector<int32_t> tokens = prompt;
  for (uint32_t i = 0; i < decode_steps; ++i) {
    tokens.push_back(out[0].token);
    const uint32_t pos = static_cast<uint32_t>(tokens.size()) - 1;
    const Result r = engine.step({make_seq(seq_id, &tokens[pos], 1, pos, blocks, &sampling)}, &out);
    EXPECT_TRUE(r.ok()) << r.message;
    trace.outputs.push_back(out[0]);
  }
  return trace;
}

TEST(Chunking, ChunkedPrefillAndTokenByTokenMatchOneFullPrefillBitForBit) {
  SKIP_WITHOUT_PLUGIN();
  ModelSpec spec;
  spec.vocab_size = 21;  // odd row counts: the matmul's single-row path runs too
  spec.intermediate_size = 43;
  spec.qkv_bias = true;
  RandomModel model(spec);
  Result r;
  auto engine = Engine::create(model.desc(), "num_threads: 3\n", &r);
  ASSERT_TRUE(engine) << r.message;
  const uint32_t B = 4, per_seq = 9;  // 36 positions: 23 prompt + 8 decode
  ASSERT_TRUE(engine->allocate(per_seq * 5, B).ok());
  const auto tables = shuffled_block_tables(5, per_seq, 3);
  const std::vector<int32_t> prompt = random_tokens(23, spec.vocab_size, 9);

  const Trace full = run(*engine, 100, prompt, 0, tables[0], 8);
  const uint32_t chunks[] = {1, 3, 7, 23};
  for (size_t c = 0; c < 4; ++c) {
    const Trace t = run(*engine, 200 + c, prompt, chunks[c], tables[c + 1], 8);
    ASSERT_EQ(t.outputs.size(), full.outputs.size());
    for (size_t i = 0; i < full.outputs.size(); ++i)
      EXPECT_TRUE(same_bits(t.outputs[i], full.outputs[i]))
          << "chunk " << chunks[c] << ", output " << i << ": token " << t.outputs[i].token << " vs "
          << full.outputs[i].token << ", logprob " << t.outputs[i].logprob << " vs " << full.outputs[i].logprob;
  }
}

TEST(Chunking, ThreadCountDoesNotChangeResults) {
  SKIP_WITHOUT_PLUGIN();
  ModelSpec spec;
  spec.hidden_size = 64;
  spec.intermediate_size = 100;
  RandomModel model(spec);
  const std::vector<int32_t> prompt = random_tokens(17, spec.vocab_size, 5);
  std::vector<Trace> traces;
  for (const char* config : {"num_threads: 1", "num_threads: 2", "num_threads: 5"}) {
    Result r;
    auto engine = Engine::create(model.desc(), config, &r);
    ASSERT_TRUE(engine) << r.message;
    ASSERT_TRUE(engine->allocate(8, 4).ok());
    traces.push_back(run(*engine, 1, prompt, 5, {7, 3, 1, 0, 6, 2, 4, 5}, 6));
  }
  for (size_t k = 1; k < traces.size(); ++k)
    for (size_t i = 0; i < traces[0].outputs.size(); ++i)
      EXPECT_TRUE(same_bits(traces[k].outputs[i], traces[0].outputs[i])) << "config " << k << ", output " << i;
}

}  // namespace
}  // namespace cpu_test
