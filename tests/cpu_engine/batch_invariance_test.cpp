// A sequence's tokens and logprobs are bit-identical whatever shares its batch.
#include <algorithm>
#include <random>
#include <set>

#include "test_util.hpp"

namespace cpu_test {
namespace {

struct SeqRun {
  uint64_t id;
  std::vector<int32_t> tokens;  // prompt, then what was generated
  size_t prompt_len;
  uint32_t chunk;               // prefill chunk when batched
  lmrt_sampling_params params;
  std::vector<int32_t> blocks;
  size_t done = 0;              // positions whose KV is written
  std::vector<lmrt_token_logprobs> outputs;
};

constexpr uint32_t kDecodeSteps = 6;

// The step entry for `s` now: its next prefill chunk or its next decode token.
lmrt_step_seq next_entry(SeqRun& s, bool chunked) {
  s.params.penalty_tokens = s.tokens.data();
  s.params.num_penalty_tokens = static_cast<uint32_t>(s.tokens.size());
  s.params.num_generated = static_cast<uint32_t>(s.tokens.size() - s.prompt_len);
  const size_t remaining = s.tokens.size() - s.done;
  const uint32_t count = static_cast<uint32_t>(chunked ? std::min<size_t>(s.chunk, remaining) : remaining);
  const bool samples = s.done + count == s.tokens.size();
  return make_seq(s.id, &s.tokens[s.done], count, static_cast<uint32_t>(s.done), s.blocks, samples ? &s.params : nullptr);
}

void record(SeqRun& s, const lmrt_step_seq& entry, const lmrt_token_logprobs& out) {
  s.done += entry.num_tokens;
  if (entry.sampling) {
    s.outputs.push_back(out);
    s.tokens.push_back(out.token);
  }
}

bool finished(const SeqRun& s) { return s.outputs.size() == kDecodeSteps + 1; }

std::vector<SeqRun> make_runs(uint32_t vocab) {
  std::vector<SeqRun> runs;
  for (uint64_t i = 0; i < 5; ++i) {
    SeqRun s;
    s.id = 1000 + i * 7;
    s.prompt_len = 3 + i * 3;
    s.tokens = random_tokens(s.prompt_len, vocab, 50 + i);
    s.chunk = static_cast<uint32_t>(i + 2);
    s.params = random_params(777 + i, 0.7f + 0.2f * i);
    if (i == 0) s.params = greedy_params();
    if (i == 2) s.params.top_p = 0.8f, s.params.min_p = 0.05f;
    if (i == 3) s.params.repetition_penalty = 1.3f, s.params.presence_penalty = 0.5f, s.params.frequency_penalty = 0.3f;
    if (i == 4) s.params.top_k = 5, s.params.top_logprobs = 7;
    runs.push_back(s);
  }
  return runs;
}

TEST(BatchInvariance, MixedPrefillAndDecodeBatchesMatchEachSequenceAlone) {
  SKIP_WITHOUT_PLUGIN();
  ModelSpec spec;
  spec.vocab_size = 23;          // odd row counts: the matmul's single-row path runs too
  spec.intermediate_size = 45;
  spec.num_layers = 2;
  RandomModel model(spec);
  const uint32_t B = 4, per_seq = 6;  // 24 positions >= 15 + 7

  // Each sequence alone: one full prefill, then decodes.
  std::vector<SeqRun> alone = make_runs(spec.vocab_size);
  {
    Result r;
    auto engine = Engine::create(model.desc(), "num_threads: 2", &r);
    ASSERT_TRUE(engine) << r.message;
    ASSERT_TRUE(engine->allocate(per_seq, B).ok());
    for (SeqRun& s : alone) {
      s.blocks = {0, 1, 2, 3, 4, 5};
      while (!finished(s)) {
        std::vector<lmrt_token_logprobs> out;
        const lmrt_step_seq entry = next_entry(s, false);
        const Result sr = engine->step({entry}, &out);
        ASSERT_TRUE(sr.ok()) << sr.message;
        record(s, entry, out[0]);
      }
    }
  }

  // All together, staggered, prefills chunked, permuted non-contiguous block tables,
  // and the batch order shuffled every step.
  std::vector<SeqRun> together = make_runs(spec.vocab_size);
  const auto tables = shuffled_block_tables(together.size(), per_seq, 11);
  for (size_t i = 0; i < together.size(); ++i) together[i].blocks = tables[i];
  Result r;
  auto engine = Engine::create(model.desc(), "num_threads: 3", &r);
  ASSERT_TRUE(engine) << r.message;
  ASSERT_TRUE(engine->allocate(static_cast<uint32_t>(per_seq * together.size()), B).ok());
  std::mt19937_64 rng(5);
  for (size_t step = 0; step < 200; ++step) {
    std::vector<SeqRun*> active;
    for (size_t i = 0; i < together.size() && i <= step; ++i)
      if (!finished(together[i])) active.push_back(&together[i]);
    if (active.empty()) break;
    std::shuffle(active.begin(), active.end(), rng);
    std::vector<lmrt_step_seq> entries;
    for (SeqRun* s : active) entries.push_back(next_entry(*s, true));
    std::vector<lmrt_token_logprobs> out;
    const Result sr = engine->step(entries, &out);
    ASSERT_TRUE(sr.ok()) << sr.message;
    for (size_t k = 0; k < active.size(); ++k) record(*active[k], entries[k], out[k]);
  }

  std::set<int32_t> distinct_tokens;
  for (size_t i = 0; i < alone.size(); ++i) {
    ASSERT_TRUE(finished(together[i])) << "sequence " << i;
    for (size_t k = 0; k <= kDecodeSteps; ++k) {
      distinct_tokens.insert(alone[i].outputs[k].token);
      EXPECT_TRUE(same_bits(alone[i].outputs[k], together[i].outputs[k]))
          << "sequence " << i << ", output " << k << ": token " << alone[i].outputs[k].token << " vs "
          << together[i].outputs[k].token << ", logprob " << alone[i].outputs[k].logprob << " vs "
          << together[i].outputs[k].logprob;
    }
  }
  EXPECT_GT(distinct_tokens.size(), 3u) << "the runs should not all produce one token";
}

}  // namespace
}  // namespace cpu_test
