// The GPU engine at the step level: against Hugging Face transformers (fp16 and bf16 weights),
// against the cpu engine (logprobs, greedy tokens, sampling decisions on the same Philox
// stream), and bad input (clear statuses, the engine stays usable). Skips without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "gpu_test_support.hpp"
#include "lmrt/core/error.hpp"
#include "lmrt/core/tiny_model.hpp"
#include "log_capture.hpp"

namespace fs = std::filesystem;
using namespace lmrt;
using namespace lmrt::gputest;

namespace {

struct Reference {
  std::vector<int32_t> input_ids;
  std::vector<std::vector<double>> logits;
  std::vector<int32_t> generated_ids;
};

std::optional<Reference> read_reference(const std::string& fixture, const std::string& dtype) {
  // Live references written on the GPU machine by scripts/gpu/transformers_reference.py win;
  // the committed fp32 reference is exact for fp16 (the fixture weights are fp16).
  fs::path file;
  if (const char* dir = std::getenv("LMRT_GPU_REFERENCE_DIR"); dir && *dir)
    file = fs::path(dir) / fixture / ("logits-" + dtype + ".json");
  if (file.empty() || !fs::exists(file)) {
    if (dtype != "float16") return std::nullopt;
    file = fixtures_dir() / fixture / "logits.json";
  }
  if (!fs::exists(file)) return std::nullopt;
  std::ifstream in(file);
  auto j = nlohmann::json::parse(in);
  return Reference{j["input_ids"].get<std::vector<int32_t>>(), j["logits"].get<std::vector<std::vector<double>>>(),
                   j["generated_ids"].get<std::vector<int32_t>>()};
}

std::vector<double> log_softmax(const std::vector<double>& logits) {
  double m = *std::max_element(logits.begin(), logits.end()), sum = 0;
  for (double x : logits) sum += std::exp(x - m);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - (m + std::log(sum));
  return out;
}

// The tolerance of the issue: logprobs within 2e-3 relative (of max(1, |logprob|)).
constexpr double kTol = 2e-3;
constexpr double kTolBf16 = 1e-2;

struct ErrorStats {
  double max_rel = 0;
  void add(double got, double want) { max_rel = std::max(max_rel, std::fabs(got - want) / std::max(1.0, std::fabs(want))); }
};

class TransformersReference : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

}  // namespace

TEST_P(TransformersReference, LogprobsAndGreedyTokens) {
  REQUIRE_GPU();
  const auto [fixture, dtype] = GetParam();
  const fs::path dir = fixtures_dir() / fixture;
  auto ref = read_reference(fixture, dtype);
  if (!ref) GTEST_SKIP() << "no " << dtype << " reference for " << fixture << " (set LMRT_GPU_REFERENCE_DIR)";
  const size_t n = ref->input_ids.size();
  const bool dynamic_rope = fixture.find("dynamic") != std::string::npos;
  ErrorStats err;
  StepEngine e(kGpu, dir, "dtype: " + dtype + "\n");
  // Every prefix as its own prefill (dynamic NTK: only the full length compares).
  uint64_t id = 100;
  for (size_t len = dynamic_rope ? n : 1; len <= n; ++len) {
    std::vector<int32_t> prefix(ref->input_ids.begin(), ref->input_ids.begin() + len);
    lmrt_token_logprobs got = e.greedy(prefix, 0, ++id, 16);
    std::vector<double> want = log_softmax(ref->logits[len - 1]);
    ASSERT_EQ(got.num_top, uint32_t(LMRT_MAX_TOP_LOGPROBS));
    for (uint32_t k = 0; k < got.num_top; ++k) {
      ASSERT_GE(got.top_tokens[k], 0);
      ASSERT_LT(size_t(got.top_tokens[k]), want.size());
      err.add(got.top_logprobs[k], want[got.top_tokens[k]]);
    }
    err.add(got.logprob, want[got.token]);
  }
  std::vector<int32_t> generated;
  lmrt_token_logprobs out = e.greedy(ref->input_ids, 0);
  generated.push_back(out.token);
  for (size_t i = 1; i < ref->generated_ids.size(); ++i) {
    out = e.greedy({generated.back()}, static_cast<uint32_t>(n + i - 1));
    generated.push_back(out.token);
  }
  std::printf("[gpu-table] transformers %s %s max_rel_logprob_err %.3g greedy32 %s\n", fixture.c_str(), dtype.c_str(),
              err.max_rel, generated == ref->generated_ids ? "same" : "DIFFERENT");
  if (dtype == "float16") {
    EXPECT_LE(err.max_rel, kTol);
    EXPECT_EQ(generated, ref->generated_ids);
  } else {
    // bf16 activations carry 8 significant bits (rounding ~4e-3 per GEMM input), so the
    // issue's 2e-3 is out of reach; 1e-2 is the bf16 bound of METHOD.md, and a greedy path may
    // leave transformers' after a near tie: the first 8 tokens must agree.
    EXPECT_LE(err.max_rel, kTolBf16);
    EXPECT_EQ(std::vector<int32_t>(generated.begin(), generated.begin() + 8),
              std::vector<int32_t>(ref->generated_ids.begin(), ref->generated_ids.begin() + 8));
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, TransformersReference,
                         ::testing::Combine(::testing::Values("tiny-llama", "tiny-qwen2", "tiny-internlm2",
                                                              "tiny-llama-rope-linear", "tiny-llama-rope-dynamic"),
                                            ::testing::Values("float16", "bfloat16")),
                         [](const auto& info) {
                           std::string s = std::get<0>(info.param) + "_" + std::get<1>(info.param);
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

// Chunked prefill then decode, the same steps on both engines: same greedy tokens and top-20.
TEST(GpuEngine, MatchesTheCpuEngineStepByStep) {
  REQUIRE_GPU();
  for (const char* fixture : {"tiny-llama", "tiny-qwen2", "tiny-llama-rope-dynamic"}) {
    const fs::path dir = fixtures_dir() / fixture;
    StepEngine gpu(kGpu, dir, "dtype: float16\n");
    StepEngine cpu("cpu", dir, "num_threads: 2\n");
    std::vector<int32_t> prompt;
    for (int i = 0; i < 37; ++i) prompt.push_back(3 + (i * 37 + 11) % 250);
    ErrorStats err;
    std::vector<int32_t> tg, tc;
    lmrt_token_logprobs g{}, c{};
    for (size_t at = 0; at < prompt.size(); at += 5) {  // chunks of 5 positions
      std::vector<int32_t> chunk(prompt.begin() + at, prompt.begin() + std::min(prompt.size(), at + 5));
      g = gpu.greedy(chunk, static_cast<uint32_t>(at));
      c = cpu.greedy(chunk, static_cast<uint32_t>(at));
    }
    for (int i = 0; i < 32; ++i) {
      for (uint32_t k = 0; k < c.num_top; ++k)
        for (uint32_t m = 0; m < g.num_top; ++m)
          if (g.top_tokens[m] == c.top_tokens[k]) err.add(g.top_logprobs[m], c.top_logprobs[k]);
      tg.push_back(g.token), tc.push_back(c.token);
      const uint32_t pos = static_cast<uint32_t>(prompt.size() + i);
      g = gpu.greedy({tg.back()}, pos);
      c = cpu.greedy({tc.back()}, pos);
    }
    std::printf("[gpu-table] cpu-vs-gpu %s float16 max_rel_logprob_err %.3g greedy32 %s\n", fixture, err.max_rel,
                tg == tc ? "same" : "DIFFERENT");
    EXPECT_LE(err.max_rel, kTol) << fixture;
    EXPECT_EQ(tg, tc) << fixture;
  }
}

namespace {

// A tiny fp16 model (hidden 256, 4 heads on `kv_heads` KV heads) written to the temp folder `name`.
fs::path tiny_fp16_model(const std::string& name, uint32_t head_dim, uint32_t intermediate, uint32_t vocab,
                         uint32_t seed, uint32_t kv_heads = 2) {
  const fs::path dir = fs::temp_directory_path() / name;
  TinyModelSpec spec;
  spec.dtype = LMRT_DTYPE_F16;
  spec.hidden = 256;
  spec.heads = 4;
  spec.kv_heads = kv_heads;
  spec.head_dim = head_dim;
  spec.intermediate = intermediate;
  spec.vocab = vocab;
  spec.max_position_embeddings = 1024;
  spec.seed = seed;
  write_tiny_model(dir, spec);
  return dir;
}

// A tiny fp16 model whose head size takes the attention kernels' paths (32 lanes x 2 or x 4 dimensions; 36 is not
// a multiple of 8), with 4 / kv_heads query heads a KV head.
fs::path attention_test_model(uint32_t head_dim, uint32_t kv_heads = 2) {
  return tiny_fp16_model("lmrt-gpu-attention-" + std::to_string(head_dim) + "-" + std::to_string(kv_heads), head_dim,
                         256, 256, head_dim, kv_heads);
}

using Env = std::vector<std::pair<const char*, const char*>>;

// Greedy steps of len(prompts) sequences: each prompt in the first step (sequence i gets KV blocks
// [blocks_per_seq * i, ...)), then one decode token each per step; the outputs, sequence by sequence within each
// step. `env` is set for the engine's creation only; `yaml` is its engine section. With `force` (another run's
// outputs, in this layout) each step's input is the token `force` chose, not this engine's: the same contexts.
// KV blocks of `block_seq_len` tokens.
std::vector<lmrt_token_logprobs> run_steps(const fs::path& dir, const std::vector<std::vector<int32_t>>& prompts,
                                           uint32_t blocks_per_seq, int steps, const Env& env,
                                           const std::string& yaml = "dtype: float16\n",
                                           const std::vector<lmrt_token_logprobs>* force = nullptr,
                                           uint32_t num_blocks = 256, uint32_t block_seq_len = 16) {
  for (const char* name : {"LMRT_TM_ATTENTION_GROUP", "LMRT_TM_ATTENTION_CHUNK", "LMRT_TM_ATTENTION_SPLIT",
                           "LMRT_TM_CUDA_GRAPHS", "LMRT_TM_GEMV", "LMRT_TM_GEMV_ROWS", "LMRT_TM_PDL",
                           "LMRT_TM_PROFILE", "LMRT_TM_ATTENTION_TENSOR_CORES", "LMRT_TM_TP_ONE_DEVICE",
                           "LMRT_TM_GEMV_SILU", "LMRT_TM_LOOKAHEAD", "LMRT_TM_TIMELINE", "LMRT_TM_GEMV_DYNAMIC",
                           "LMRT_TM_GEMV_EARLY", "LMRT_TM_GEMV_STAGE_X", "LMRT_TM_GEMV_NORM_REGISTERS",
                           "LMRT_TM_GEMV_HEAD_NORM", "LMRT_TM_L2_PREFETCH_MB", "LMRT_TM_L2_PREFETCH_TAIL"})
    unsetenv(name);
  for (const auto& [name, value] : env) setenv(name, value, 1);
  StepEngine e(kGpu, dir, yaml, num_blocks, block_seq_len);
  for (const auto& [name, value] : env) unsetenv(name);
  const size_t S = prompts.size();
  std::vector<std::vector<int32_t>> tables(S), toks = prompts;
  for (size_t i = 0; i < S; ++i) {
    tables[i].resize(blocks_per_seq);
    std::iota(tables[i].begin(), tables[i].end(), static_cast<int32_t>(blocks_per_seq * i));
  }
  lmrt_sampling_params sp = greedy_params();
  std::vector<lmrt_token_logprobs> all;
  std::vector<uint32_t> start(S, 0);
  for (int step = 0; step < steps; ++step) {
    std::vector<lmrt_step_seq> seqs(S);
    for (size_t i = 0; i < S; ++i) {
      lmrt_step_seq& q = seqs[i];
      q.struct_size = sizeof(q);
      q.seq_id = 10 + i;
      q.tokens = toks[i].data();
      q.num_tokens = static_cast<uint32_t>(toks[i].size());
      q.start_pos = start[i];
      q.block_table = tables[i].data();
      q.num_blocks = static_cast<uint32_t>(tables[i].size());
      q.sampling = &sp;
    }
    std::vector<lmrt_token_logprobs> out;
    lmrt_status* st = e.step(seqs, out);
    EXPECT_EQ(st, nullptr) << (st ? e.host()->status_message(st) : "");
    if (st) {
      e.host()->status_release(st);
      return all;
    }
    for (size_t i = 0; i < S; ++i) {
      start[i] += static_cast<uint32_t>(toks[i].size());
      const size_t k = all.size();
      toks[i] = {force && k < force->size() ? (*force)[k].token : out[i].token};
      all.push_back(out[i]);
    }
  }
  return all;
}

std::vector<int32_t> prompt_ids(uint32_t len, uint32_t salt) {
  std::vector<int32_t> p;
  for (uint32_t k = 0; k < len; ++k) p.push_back(3 + (k * 31 + 7 * salt) % 250);
  return p;
}

// Six greedy steps of three sequences: a 300-, a 37- and a 1-token prompt, then decode tokens (18 outputs).
std::vector<lmrt_token_logprobs> run_three_sequences(const fs::path& dir, const Env& env) {
  return run_steps(dir, {prompt_ids(300, 0), prompt_ids(37, 1), prompt_ids(1, 2)}, 32, 6, env);
}

bool same_bits(const lmrt_token_logprobs& a, const lmrt_token_logprobs& b) {
  if (a.token != b.token || a.num_top != b.num_top || std::memcmp(&a.logprob, &b.logprob, sizeof(float)) != 0)
    return false;
  for (uint32_t k = 0; k < a.num_top; ++k)
    if (a.top_tokens[k] != b.top_tokens[k] || std::memcmp(&a.top_logprobs[k], &b.top_logprobs[k], sizeof(float)) != 0)
      return false;
  return true;
}

// The kernels of a few decode steps of one sequence as the engine's profile names them (LMRT_TM_PROFILE=2, which
// the engine logs when it is released): which path a knob chose. A bit-identity test would pass were a knob
// ignored; this shows it was not.
std::string profiled_kernels(const fs::path& dir, Env env) {
  env.push_back({"LMRT_TM_PROFILE", "2"});
  lmrt::testing::LogCapture log;
  run_steps(dir, {prompt_ids(30, 0)}, 8, 3, env);
  return log.text();
}

// The profile's kernel names with `knob` at 1 and at 0: `on_has` with it on; with it off, not `off_lacks` (none:
// not checked) but `off_has`.
void expect_knob_paths(const fs::path& dir, const char* knob, const char* on_has, const char* off_lacks,
                       const char* off_has) {
  const std::string on = profiled_kernels(dir, {{knob, "1"}});
  const std::string off = profiled_kernels(dir, {{knob, "0"}});
  EXPECT_NE(on.find(on_has), std::string::npos) << knob << "=1: " << on;
  if (off_lacks) EXPECT_EQ(off.find(off_lacks), std::string::npos) << knob << "=0: " << off;
  EXPECT_NE(off.find(off_has), std::string::npos) << knob << "=0: " << off;
}

}  // namespace

// The tokens of a sequence that share their K/V reads in one attention block (LMRT_TM_ATTENTION_GROUP, default 8)
// change no bit of any result.
TEST(GpuEngine, AttentionGroupsChangeNoBit) {
  REQUIRE_GPU();
  for (uint32_t head_dim : {64u, 128u, 36u}) {
    const fs::path dir = attention_test_model(head_dim);
    const auto one = run_three_sequences(dir, {{"LMRT_TM_ATTENTION_GROUP", "1"}});
    const auto three = run_three_sequences(dir, {{"LMRT_TM_ATTENTION_GROUP", "3"}});
    const auto dflt = run_three_sequences(dir, {});
    ASSERT_EQ(one.size(), 18u);
    ASSERT_EQ(three.size(), one.size());
    ASSERT_EQ(dflt.size(), one.size());
    size_t equal3 = 0, equal8 = 0;
    for (size_t k = 0; k < one.size(); ++k) equal3 += same_bits(one[k], three[k]), equal8 += same_bits(one[k], dflt[k]);
    std::printf("[gpu-table] attention groups head_dim %u: group 3 %zu/%zu, group 8 %zu/%zu bit-identical to group 1\n",
                head_dim, equal3, one.size(), equal8, one.size());
    EXPECT_EQ(equal3, one.size()) << "head_dim " << head_dim;
    EXPECT_EQ(equal8, one.size()) << "head_dim " << head_dim;
    fs::remove_all(dir);
  }
}

// Attention chunks (LMRT_TM_ATTENTION_CHUNK, default 64 on tensor cores, 256 on CUDA cores): splitting a token's
// chunks over blocks changes no bit, in eager steps and in decode graphs (which deal a token's chunks over a fixed
// number of blocks); a token whose keys fit one chunk gets the same bits whatever the chunk size; longer ones stay
// within fp16 rounding.
TEST(GpuEngine, AttentionChunksSplitWithoutChangingABit) {
  REQUIRE_GPU();
  for (uint32_t head_dim : {64u, 128u, 36u}) {
    const fs::path dir = attention_test_model(head_dim);
    const Env eager{{"LMRT_TM_CUDA_GRAPHS", "0"}};
    const auto dflt = run_three_sequences(dir, eager);
    const auto loop = run_three_sequences(dir, {{"LMRT_TM_ATTENTION_CHUNK", "128"}, {"LMRT_TM_ATTENTION_SPLIT", "0"},
                                                {"LMRT_TM_CUDA_GRAPHS", "0"}});
    const auto split = run_three_sequences(dir, {{"LMRT_TM_ATTENTION_CHUNK", "128"}, {"LMRT_TM_ATTENTION_SPLIT", "1"},
                                                 {"LMRT_TM_CUDA_GRAPHS", "0"}});
    const auto graph = run_three_sequences(dir, {{"LMRT_TM_ATTENTION_CHUNK", "128"}, {"LMRT_TM_CUDA_GRAPHS", "1"}});
    ASSERT_EQ(dflt.size(), 18u);
    ASSERT_EQ(loop.size(), dflt.size());
    ASSERT_EQ(split.size(), dflt.size());
    ASSERT_EQ(graph.size(), dflt.size());
    size_t split_same = 0, graph_same = 0, short_same = 0, short_total = 0;
    ErrorStats err;
    for (size_t k = 0; k < dflt.size(); ++k) {
      split_same += same_bits(loop[k], split[k]);
      graph_same += same_bits(loop[k], graph[k]);
      if (k % 3 != 0) short_total += 1, short_same += same_bits(dflt[k], loop[k]);  // 37 and 1 tokens: one chunk
    }
    // The long sequence's first answer (its prompt spans three chunks of 128), against the default's chunks.
    EXPECT_EQ(loop[0].token, dflt[0].token);
    for (uint32_t a = 0; a < dflt[0].num_top; ++a)
      for (uint32_t b = 0; b < loop[0].num_top; ++b)
        if (dflt[0].top_tokens[a] == loop[0].top_tokens[b]) err.add(loop[0].top_logprobs[b], dflt[0].top_logprobs[a]);
    std::printf("[gpu-table] attention chunks head_dim %u: split %zu/%zu and decode graphs %zu/%zu bit-identical to "
                "one block, one-chunk tokens %zu/%zu identical at chunk 128 and the default, 300-token prompt "
                "max_rel_logprob_err %.3g\n",
                head_dim, split_same, dflt.size(), graph_same, dflt.size(), short_same, short_total, err.max_rel);
    EXPECT_EQ(split_same, dflt.size()) << "head_dim " << head_dim;
    EXPECT_EQ(graph_same, dflt.size()) << "head_dim " << head_dim;
    EXPECT_EQ(short_same, short_total) << "head_dim " << head_dim;
    EXPECT_LE(err.max_rel, kTol) << "head_dim " << head_dim;
    fs::remove_all(dir);
  }
}

// Tensor-core attention stages a tile's keys as one contiguous run where KV blocks hold whole tiles (64 tokens,
// the default) and key by key through the block table otherwise (16): the same bits, for tokens of 2-3, 3-4 and 5
// tiles, eager and in decode graphs (a tile an item there), one sequence and three. The bit-identity tests above
// run 16-token blocks; this one holds the default path to their bits.
TEST(GpuEngine, AttentionStagingChangesNoBitWithTheKvBlockSize) {
  REQUIRE_GPU();
  for (uint32_t head_dim : {64u, 128u}) {
    const fs::path dir = attention_test_model(head_dim);
    for (const char* graphs : {"0", "1"})
      for (size_t seqs : {1u, 3u}) {
        const std::vector<std::vector<int32_t>> prompts = {prompt_ids(125, 0), prompt_ids(190, 1),
                                                           prompt_ids(300, 2)};
        const std::vector<std::vector<int32_t>> run(prompts.begin(), prompts.begin() + seqs);
        const Env env{{"LMRT_TM_CUDA_GRAPHS", graphs}};
        const auto small = run_steps(dir, run, 32, 6, env, "dtype: float16\n", nullptr, 256, 16);
        const auto whole = run_steps(dir, run, 8, 6, env, "dtype: float16\n", nullptr, 64, 64);
        ASSERT_EQ(small.size(), seqs * 6);
        ASSERT_EQ(whole.size(), small.size());
        size_t same = 0;
        for (size_t k = 0; k < small.size(); ++k) same += same_bits(small[k], whole[k]);
        std::printf("[gpu-table] attention staging, KV blocks of 64 against 16 tokens, head_dim %u, graphs %s, %zu "
                    "sequence(s): %zu/%zu outputs bit-identical\n", head_dim, graphs, seqs, same, small.size());
        EXPECT_EQ(same, small.size()) << "head_dim " << head_dim << " graphs " << graphs << " sequences " << seqs;
      }
    fs::remove_all(dir);
  }
}

// A decode token of more than 32 chunks is combined 32 chunks at a time, the running state carried from one group to
// the next (attention_combine.cuh, fold_chunks): split over blocks, its results are still the bits of one block's.
// On tensor cores a 2100-token prompt gives its decode tokens 33 chunks of 64 keys; on CUDA cores (head_dim 36,
// the separate combine kernel) 4200 tokens give 33 chunks of 128. The tensor-core combine gives a head 4, 2 or 1 of
// its block's 4 warps when the KV head has 1, 2 or 4 query heads.
TEST(GpuEngine, SplitTokensOfMoreThan32ChunksCombineWithoutChangingABit) {
  REQUIRE_GPU();
  const std::pair<uint32_t, uint32_t> cases[] = {{128, 2}, {64, 2}, {36, 2}, {128, 4}, {128, 1}, {64, 4}};
  for (const auto& [head_dim, kv_heads] : cases) {
    const fs::path dir = attention_test_model(head_dim, kv_heads);
    const bool cuda_cores = head_dim == 36;
    const uint32_t len = cuda_cores ? 4200 : 2100, blocks = (len + 64) / 16;
    const char* chunk = cuda_cores ? "128" : "64";
    const std::vector<std::vector<int32_t>> prompts{prompt_ids(len, 4)};
    const int steps = 4;
    const auto whole = run_steps(dir, prompts, blocks, steps,
                                 {{"LMRT_TM_ATTENTION_CHUNK", chunk}, {"LMRT_TM_ATTENTION_SPLIT", "0"},
                                  {"LMRT_TM_CUDA_GRAPHS", "0"}},
                                 "dtype: float16\n", nullptr, blocks);
    const auto split = run_steps(dir, prompts, blocks, steps,
                                 {{"LMRT_TM_ATTENTION_CHUNK", chunk}, {"LMRT_TM_ATTENTION_SPLIT", "1"},
                                  {"LMRT_TM_CUDA_GRAPHS", "0"}},
                                 "dtype: float16\n", nullptr, blocks);
    ASSERT_EQ(whole.size(), static_cast<size_t>(steps));
    ASSERT_EQ(split.size(), whole.size());
    size_t same = 0;
    for (size_t k = 0; k < whole.size(); ++k) same += same_bits(whole[k], split[k]);
    std::printf("[gpu-table] split tokens of 33 chunks, head_dim %u, %u query heads a KV head: %zu/%zu outputs "
                "bit-identical to one block\n",
                head_dim, 4 / kv_heads, same, whole.size());
    EXPECT_EQ(same, whole.size()) << "head_dim " << head_dim << ", kv_heads " << kv_heads;
    fs::remove_all(dir);
  }
}

// Attention on tensor cores (the default where head_dim allows) and on CUDA cores, each against the cpu engine:
// a 300-token prompt, then 16 decode steps fed the cpu engine's tokens, so that both see the same context and a
// near tie cannot send them down different paths. Each kernel runs with KV blocks of 32 and of 64 tokens (blocks
// that hold whole 64-key tiles take the tensor-core kernel's contiguous tile copy), which must give the same bits.
TEST(GpuEngine, BothAttentionKernelsMatchTheCpuEngine) {
  REQUIRE_GPU();
  const int steps = 16;
  for (uint32_t head_dim : {64u, 128u}) {
    const fs::path dir = attention_test_model(head_dim);
    const std::vector<int32_t> prompt = prompt_ids(300, 5);
    std::vector<lmrt_token_logprobs> want;
    {
      StepEngine cpu("cpu", dir, "num_threads: 2\n", 256, 32);
      want.push_back(cpu.greedy(prompt, 0));
      for (int i = 0; i < steps; ++i)
        want.push_back(cpu.greedy({want.back().token}, static_cast<uint32_t>(prompt.size() + i)));
    }
    for (const char* tensor_cores : {"1", "0"}) {
      std::vector<lmrt_token_logprobs> got[2];
      for (int b = 0; b < 2; ++b) {
        setenv("LMRT_TM_ATTENTION_TENSOR_CORES", tensor_cores, 1);
        StepEngine gpu(kGpu, dir, "dtype: float16\n", 256, b ? 64 : 32);
        unsetenv("LMRT_TM_ATTENTION_TENSOR_CORES");
        got[b].push_back(gpu.greedy(prompt, 0));
        for (int i = 0; i < steps; ++i)
          got[b].push_back(gpu.greedy({want[i].token}, static_cast<uint32_t>(prompt.size() + i)));
      }
      ErrorStats err;
      size_t same = 0, same_blocks = 0;
      for (int i = 0; i < steps; ++i) {
        const lmrt_token_logprobs &g = got[0][i], &c = want[i];
        for (uint32_t k = 0; k < c.num_top; ++k)
          for (uint32_t m = 0; m < g.num_top; ++m)
            if (g.top_tokens[m] == c.top_tokens[k]) err.add(g.top_logprobs[m], c.top_logprobs[k]);
        same += g.token == c.token;
      }
      for (size_t k = 0; k < got[0].size(); ++k) same_blocks += same_bits(got[0][k], got[1][k]);
      std::printf("[gpu-table] %s attention head_dim %u vs the cpu engine: max_rel_logprob_err %.3g, greedy %zu/%d; "
                  "KV blocks of 64 vs 32 tokens: %zu/%zu bit-identical\n",
                  tensor_cores[0] == '1' ? "tensor-core" : "CUDA-core", head_dim, err.max_rel, same, steps,
                  same_blocks, got[0].size());
      EXPECT_LE(err.max_rel, kTol) << "head_dim " << head_dim << ", tensor cores " << tensor_cores;
      EXPECT_GE(same, size_t(steps - 1)) << "head_dim " << head_dim << ", tensor cores " << tensor_cores;
      EXPECT_EQ(same_blocks, got[0].size()) << "head_dim " << head_dim << ", tensor cores " << tensor_cores;
    }
    fs::remove_all(dir);
  }
}

namespace {

// S sequences: one prefill step (prompts of 20 + 5i tokens, 8 blocks each), then 6 greedy decode steps of all of them.
std::vector<lmrt_token_logprobs> run_decode(const fs::path& dir, uint32_t S, const char* graphs, Env env = {}) {
  std::vector<std::vector<int32_t>> prompts;
  for (uint32_t i = 0; i < S; ++i) prompts.push_back(prompt_ids(20 + 5 * i, i));
  env.push_back({"LMRT_TM_CUDA_GRAPHS", graphs});
  return run_steps(dir, prompts, 8, 7, env);
}

}  // namespace

// Decode steps replayed from CUDA graphs (LMRT_TM_CUDA_GRAPHS, on by default) give the eager results: bit for bit
// when the batch is its own bucket (a power of two), within the fp16 bound when padding changes the GEMMs' row
// count.
TEST(GpuEngine, DecodeGraphsGiveTheEagerResults) {
  REQUIRE_GPU();
  const fs::path dir = fixtures_dir() / "tiny-llama";
  for (uint32_t S : {1u, 2u, 3u, 8u, 12u}) {
    const auto eager = run_decode(dir, S, "0"), graphs = run_decode(dir, S, "1");
    ASSERT_EQ(eager.size(), 7u * S);
    ASSERT_EQ(graphs.size(), eager.size());
    size_t same = 0, tokens_same = 0;
    ErrorStats err;
    for (size_t k = 0; k < eager.size(); ++k) {
      same += same_bits(eager[k], graphs[k]);
      tokens_same += eager[k].token == graphs[k].token;
      err.add(graphs[k].logprob, eager[k].logprob);
    }
    const bool own_bucket = (S & (S - 1)) == 0;
    std::printf("[gpu-table] decode graphs batch %u: %zu/%zu bit-identical to eager, tokens %zu/%zu, max_rel_logprob_err %.3g\n",
                S, same, eager.size(), tokens_same, eager.size(), err.max_rel);
    EXPECT_EQ(tokens_same, eager.size()) << "batch " << S;
    if (own_bucket) EXPECT_EQ(same, eager.size()) << "batch " << S;
    EXPECT_LE(err.max_rel, kTol) << "batch " << S;
  }
}

// The skinny-GEMM chain (here for steps of up to 8 tokens, LMRT_TM_GEMV_ROWS=8, so that the three sequences' steps
// take it; with the norms, SiLU and residual adds fused into its GEMMs) agrees with cuBLAS and the separate kernels
// (LMRT_TM_GEMV=0) within fp16 rounding and picks the same greedy tokens.
TEST(GpuEngine, SkinnyGemmAgreesWithCublas) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    const auto cublas = run_decode(dir, 3, "0", {{"LMRT_TM_GEMV", "0"}});
    const auto gemv = run_decode(dir, 3, "0", {{"LMRT_TM_GEMV", "1"}, {"LMRT_TM_GEMV_ROWS", "8"}});
    ASSERT_EQ(cublas.size(), 21u);
    ASSERT_EQ(gemv.size(), cublas.size());
    size_t tokens_same = 0;
    ErrorStats err;
    for (size_t k = 0; k < cublas.size(); ++k) {
      tokens_same += cublas[k].token == gemv[k].token;
      err.add(gemv[k].logprob, cublas[k].logprob);
    }
    std::printf("[gpu-table] skinny gemm %s: tokens %zu/%zu as cuBLAS, max_rel_logprob_err %.3g\n", model,
                tokens_same, cublas.size(), err.max_rel);
    EXPECT_EQ(tokens_same, cublas.size()) << model;
    EXPECT_LE(err.max_rel, kTol) << model;
  }
}

// The chain's LM head forms the final norm itself (LMRT_TM_GEMV_HEAD_NORM, on by default) instead of a norm kernel
// before it: the norm's sum runs in the GEMM block's order, so the logits may move within rounding, the tokens not;
// eager and in decode graphs, three sequences on the chain. The profile shows the fused kernel in place of the two.
TEST(GpuEngine, FinalNormInTheLmHeadAgreesWithItsKernel) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    size_t tokens_same = 0, total = 0;
    ErrorStats err;
    for (const char* graphs : {"0", "1"}) {
      const auto apart = run_decode(dir, 3, graphs, {{"LMRT_TM_GEMV_ROWS", "8"}, {"LMRT_TM_GEMV_HEAD_NORM", "0"}});
      const auto fused = run_decode(dir, 3, graphs, {{"LMRT_TM_GEMV_ROWS", "8"}, {"LMRT_TM_GEMV_HEAD_NORM", "1"}});
      ASSERT_EQ(apart.size(), 21u);
      ASSERT_EQ(fused.size(), apart.size());
      for (size_t k = 0; k < apart.size(); ++k) {
        tokens_same += apart[k].token == fused[k].token;
        err.add(fused[k].logprob, apart[k].logprob);
      }
      total += apart.size();
    }
    std::printf("[gpu-table] final norm in the LM head %s: tokens %zu/%zu as the norm kernel's, "
                "max_rel_logprob_err %.3g (eager, graphs)\n", model, tokens_same, total, err.max_rel);
    EXPECT_EQ(tokens_same, total) << model;
    EXPECT_LE(err.max_rel, kTol) << model;
    expect_knob_paths(dir, "LMRT_TM_GEMV_HEAD_NORM", "final norm + LM head", "final norm + LM head", "final norm");
  }
}

// The chain's QKV GEMM applies RoPE and the KV write itself (LMRT_TM_GEMV_ROPE, on by default) with the RoPE
// kernel's function on the values the GEMM would have stored: the same bits as the separate kernel, eager and in
// decode graphs, with and without a q/k/v bias (tiny-qwen2 has one).
TEST(GpuEngine, RopeInTheSkinnyGemmChangesNoBit) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    size_t same_all = 0, total = 0;
    for (const char* graphs : {"0", "1"}) {
      const auto apart = run_decode(dir, 3, graphs,
                                    {{"LMRT_TM_GEMV", "1"}, {"LMRT_TM_GEMV_ROWS", "8"}, {"LMRT_TM_GEMV_ROPE", "0"}});
      const auto fused = run_decode(dir, 3, graphs,
                                    {{"LMRT_TM_GEMV", "1"}, {"LMRT_TM_GEMV_ROWS", "8"}, {"LMRT_TM_GEMV_ROPE", "1"}});
      ASSERT_EQ(apart.size(), 21u);
      ASSERT_EQ(fused.size(), apart.size());
      size_t same = 0;
      for (size_t k = 0; k < apart.size(); ++k) same += same_bits(apart[k], fused[k]);
      EXPECT_EQ(same, apart.size()) << model << " graphs " << graphs;
      same_all += same, total += apart.size();
    }
    std::printf("[gpu-table] rope in the skinny gemm %s: %zu/%zu outputs bit-identical to the RoPE kernel (eager, "
                "graphs)\n", model, same_all, total);
    expect_knob_paths(dir, "LMRT_TM_GEMV_ROPE", "gemm wqkv + rope + KV write", "gemm wqkv + rope", "rope + KV write");
  }
}

// Programmatic dependent launch (on by default on sm_90) lets a kernel start while the previous one finishes; a
// kernel that touched the previous one's output before waiting for it would race. Off and on give the same bits,
// on the cuBLAS path and the skinny-GEMM chain, eager and in decode graphs, with CUDA-core attention too.
TEST(GpuEngine, ProgrammaticLaunchChangesNoBit) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    size_t same_all = 0, total = 0;
    for (const char* gemv : {"0", "1"})
      for (const char* graphs : {"0", "1"})
        for (const char* tc : {"1", "0"}) {
          const Env common{{"LMRT_TM_GEMV", gemv}, {"LMRT_TM_GEMV_ROWS", "8"}, {"LMRT_TM_ATTENTION_TENSOR_CORES", tc}};
          Env off = common, on = common;
          off.push_back({"LMRT_TM_PDL", "0"});
          on.push_back({"LMRT_TM_PDL", "1"});
          const auto plain = run_decode(dir, 3, graphs, off), early = run_decode(dir, 3, graphs, on);
          ASSERT_EQ(plain.size(), 21u);
          ASSERT_EQ(early.size(), plain.size());
          size_t same = 0;
          for (size_t k = 0; k < plain.size(); ++k) same += same_bits(plain[k], early[k]);
          EXPECT_EQ(same, plain.size()) << model << " gemv " << gemv << " graphs " << graphs << " tensor cores " << tc;
          same_all += same, total += plain.size();
        }
    std::printf("[gpu-table] programmatic dependent launch %s: %zu/%zu outputs bit-identical on and off (8 "
                "configurations)\n", model, same_all, total);
  }
}

// The engine's environment knobs are checked before it looks for a device, so this runs anywhere the plugin is built.
TEST(GpuEngineConfig, BadTuningVariablesAreClearErrors) {
  const fs::path dir = fixtures_dir() / "tiny-llama";
  const std::pair<const char*, const char*> cases[] = {{"LMRT_TM_ATTENTION_GROUP", "65"},
                                                       {"LMRT_TM_ATTENTION_GROUP", "x"},
                                                       {"LMRT_TM_ATTENTION_CHUNK", "96"},
                                                       {"LMRT_TM_ATTENTION_CHUNK", "0"},
                                                       {"LMRT_TM_ATTENTION_SPLIT", "yes"},
                                                       {"LMRT_TM_CUDA_GRAPHS", "on"},
                                                       {"LMRT_TM_GEMV", "2"},
                                                       {"LMRT_TM_GEMV_ROWS", "0"},
                                                       {"LMRT_TM_GEMV_ROWS", "9"},
                                                       {"LMRT_TM_PDL", "true"},
                                                       {"LMRT_TM_ATTENTION_TENSOR_CORES", "yes"},
                                                       {"LMRT_TM_PROFILE", "kernels"},
                                                       {"LMRT_TM_GEMV_ROPE", "2"},
                                                       {"LMRT_TM_GEMV_SILU", "2"},
                                                       {"LMRT_TM_GEMV_DYNAMIC", "2"},
                                                       {"LMRT_TM_GEMV_EARLY", "2"},
                                                       {"LMRT_TM_GEMV_STAGE_X", "staged"},
                                                       {"LMRT_TM_GEMV_STAGE_X", "3"},
                                                       {"LMRT_TM_GEMV_HEAD_NORM", "on"},
                                                       {"LMRT_TM_GEMV_NORM_REGISTERS", "2"},
                                                       {"LMRT_TM_L2_PREFETCH_MB", "-1"},
                                                       {"LMRT_TM_L2_PREFETCH_MB", "1025"},
                                                       {"LMRT_TM_L2_PREFETCH_TAIL", "101"},
                                                       {"LMRT_TM_L2_PREFETCH_TAIL", "half"},
                                                       {"LMRT_TM_LOOKAHEAD", "ahead"},
                                                       {"LMRT_TM_TIMELINE", "on"},
                                                       {"LMRT_TM_TIMELINE", "3"},
                                                       {"LMRT_TM_ATTENTION_CHUNK", "2097216"}};
  for (const auto& [name, value] : cases) {
    setenv(name, value, 1);
    std::string message;
    try {
      StepEngine e(kGpu, dir, "dtype: float16\n");
    } catch (const std::exception& ex) {
      message = ex.what();
    }
    unsetenv(name);
    EXPECT_NE(message.find(name), std::string::npos) << name << "=" << value << ": " << message;
    EXPECT_NE(message.find(std::string("'") + value + "'"), std::string::npos) << message;
  }
}

// The step timeline needs a build with its marks (cmake -DLMRT_TM_TIMELINE=ON); elsewhere asking for it is a clear
// error that says so, before any device is touched.
TEST(GpuEngineConfig, TimelineWithoutItsMarksIsAClearError) {
#if defined(LMRT_TM_TIMELINE)
  GTEST_SKIP() << "this build has the timeline's marks";
#endif
  setenv("LMRT_TM_TIMELINE", "1", 1);
  std::string message;
  try {
    StepEngine e(kGpu, fixtures_dir() / "tiny-llama", "dtype: float16\n");
  } catch (const std::exception& ex) {
    message = ex.what();
  }
  unsetenv("LMRT_TM_TIMELINE");
  EXPECT_NE(message.find("LMRT_TM_TIMELINE=1"), std::string::npos) << message;
  EXPECT_NE(message.find("-DLMRT_TM_TIMELINE=ON"), std::string::npos) << message;
}

// Sampling decisions on the same Philox stream: 64 sequences per step, each its own seed.
TEST(GpuEngine, SamplingAgreesWithTheCpuEngine) {
  REQUIRE_GPU();
  const fs::path dir = fixtures_dir() / "tiny-llama";
  StepEngine gpu(kGpu, dir, "dtype: float16\n", 256);
  StepEngine cpu("cpu", dir, "num_threads: 2\n", 256);
  std::vector<int32_t> prompt;
  for (int i = 0; i < 20; ++i) prompt.push_back(3 + (i * 53 + 7) % 250);
  const int32_t first_argmax = cpu.greedy(prompt, 0, 1, 0).token;
  std::vector<int32_t> banned{first_argmax, 5, 6};
  struct Case {
    const char* name;
    float temperature, top_p, min_p, rep, presence, frequency;
    int32_t top_k;
    bool ban;
  };
  const Case cases[] = {{"temperature", 1.0f, 1, 0, 1, 0, 0, 0, false},
                        {"top_k", 0.7f, 1, 0, 1, 0, 0, 5, false},
                        {"top_p", 1.2f, 0.8f, 0, 1, 0, 0, 0, false},
                        {"min_p", 1.0f, 1, 0.1f, 1, 0, 0, 0, false},
                        {"all", 0.9f, 0.9f, 0.05f, 1.3f, 0.5f, 0.3f, 20, true},
                        {"greedy_penalties", 0.0f, 1, 0, 1.5f, 0.4f, 0.2f, 0, true}};
  for (const Case& cs : cases) {
    int agree = 0, total = 0, banned_hits = 0;
    ErrorStats err;
    for (int round = 0; round < 4; ++round) {
      std::vector<lmrt_sampling_params> sp(64);
      std::vector<lmrt_step_seq> seqs(64);
      std::vector<std::vector<int32_t>> tables(64), prompts(64);
      for (int i = 0; i < 64; ++i) {
        lmrt_sampling_params& p = sp[i];
        p = greedy_params();
        p.top_logprobs = 0;
        p.temperature = cs.temperature, p.top_k = cs.top_k, p.top_p = cs.top_p, p.min_p = cs.min_p;
        p.repetition_penalty = cs.rep, p.presence_penalty = cs.presence, p.frequency_penalty = cs.frequency;
        p.seed = 1000003ull * (round * 64 + i) + 17;
        // Each sequence its own prompt, so the samples cover 64 distributions per round.
        prompts[i] = prompt;
        prompts[i][prompts[i].size() - 1 - (i % 4)] = 3 + (i * 29 + round * 7) % 250;
        p.penalty_tokens = prompts[i].data();
        p.num_penalty_tokens = static_cast<uint32_t>(prompt.size());
        p.num_generated = 8;
        if (cs.ban) p.banned_tokens = banned.data(), p.num_banned_tokens = static_cast<uint32_t>(banned.size());
        tables[i] = {2 * i, 2 * i + 1};
        lmrt_step_seq& s = seqs[i];
        s = lmrt_step_seq{};
        s.struct_size = sizeof(s);
        s.seq_id = 500 + i;
        s.tokens = prompts[i].data();
        s.num_tokens = static_cast<uint32_t>(prompt.size());
        s.start_pos = 0;
        s.block_table = tables[i].data();
        s.num_blocks = 2;
        s.sampling = &p;
      }
      std::vector<lmrt_token_logprobs> og, oc;
      ASSERT_EQ(gpu.step(seqs, og), nullptr);
      ASSERT_EQ(cpu.step(seqs, oc), nullptr);
      for (int i = 0; i < 64; ++i) {
        ++total;
        if (og[i].token == oc[i].token) ++agree, err.add(og[i].logprob, oc[i].logprob);
        if (cs.ban && std::find(banned.begin(), banned.end(), og[i].token) != banned.end()) ++banned_hits;
      }
    }
    std::printf("[gpu-table] sampling-vs-cpu %s agree %d/%d max_rel_logprob_err %.3g\n", cs.name, agree, total, err.max_rel);
    EXPECT_EQ(banned_hits, 0) << cs.name;
    EXPECT_GE(agree, total * 97 / 100) << cs.name;
    EXPECT_LE(err.max_rel, kTol) << cs.name;
  }
}

TEST(GpuEngine, BadInputIsAClearErrorAndTheEngineStaysUsable) {
  REQUIRE_GPU();
  StepEngine e(kGpu, fixtures_dir() / "tiny-llama", "", 16);
  std::vector<int32_t> table{0, 1}, bad_table{0, 99}, tokens{5, 6, 7}, bad_tokens{5, 9999, 7};
  lmrt_sampling_params sp = greedy_params();
  lmrt_sampling_params nan_sp = sp;
  nan_sp.temperature = NAN;
  auto seq = [&](const std::vector<int32_t>& t, const std::vector<int32_t>& tb, const lmrt_sampling_params* p, uint64_t id) {
    lmrt_step_seq s{};
    s.struct_size = sizeof(s);
    s.seq_id = id;
    s.tokens = t.data();
    s.num_tokens = static_cast<uint32_t>(t.size());
    s.block_table = tb.data();
    s.num_blocks = static_cast<uint32_t>(tb.size());
    s.sampling = p;
    return s;
  };
  struct Bad {
    std::vector<lmrt_step_seq> seqs;
    const char* needle;
  };
  std::vector<Bad> bads = {{{seq(bad_tokens, table, &sp, 1)}, "tokens[1]"},
                           {{seq(tokens, bad_table, &sp, 1)}, "block_table[1]"},
                           {{seq(tokens, table, &nan_sp, 1)}, "temperature"},
                           {{seq(tokens, table, &sp, 1), seq(tokens, table, &sp, 2)}, "also written"},
                           {{seq(tokens, table, &sp, 1), seq(tokens, {2, 3}, &sp, 1)}, "seq_id"}};
  std::vector<int32_t> t23{2, 3};
  bads[4].seqs[1] = seq(tokens, t23, &sp, 1);
  for (auto& b : bads) {
    std::vector<lmrt_token_logprobs> out;
    lmrt_status* st = e.step(b.seqs, out);
    ASSERT_NE(st, nullptr) << b.needle;
    EXPECT_EQ(e.host()->status_code(st), LMRT_STATUS_INVALID_ARGUMENT) << b.needle;
    EXPECT_NE(std::string(e.host()->status_message(st)).find(b.needle), std::string::npos) << e.host()->status_message(st);
    e.host()->status_release(st);
  }
  EXPECT_GE(e.greedy(tokens, 0).token, 0);
}

TEST(GpuEngine, OversizedCacheIsAnOutOfMemoryStatusWithTheSizes) {
  REQUIRE_GPU();
  PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
  LoadedModel model = load_model(fixtures_dir() / "tiny-llama");
  const LoadedPlugin& plugin = registry.find(kGpu, LMRT_PLUGIN_ENGINE);
  EngineHandle e(plugin, registry.host_api(), "", model.desc());
  lmrt_capacity_query q{sizeof(q), 1024, 0.5f, 8, 256, 1024};
  auto cap = e.capacity(q);
  EXPECT_GT(cap.num_blocks, 0u);
  EXPECT_GT(cap.total_bytes, cap.free_bytes);
  try {
    e.allocate_cache(2000000000u, 1024);  // ~16 TB
    FAIL() << "allocate_cache of 16 TB succeeded";
  } catch (const std::exception& ex) {
    EXPECT_NE(std::string(ex.what()).find("needs"), std::string::npos) << ex.what();
  }
  e.allocate_cache(8, 1024);  // the engine is still usable
  lmrt_sampling_params sp = greedy_params();
  std::vector<int32_t> tokens{5, 6, 7}, table{3};
  lmrt_step_seq s{sizeof(s), 3, 1, tokens.data(), 0, 1, table.data(), &sp};
  lmrt_step_batch b{sizeof(b), 1, &s};
  lmrt_token_logprobs out{};
  out.struct_size = sizeof(out);
  lmrt_status* st = e.step(b, &out);
  EXPECT_EQ(st, nullptr);
  if (st) registry.host_api()->status_release(st);
  EXPECT_GE(out.token, 0);
}

TEST(GpuEngine, Float32AndFloat8AreRefused) {
  REQUIRE_GPU();
  PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
  LoadedModel model = load_model(fixtures_dir() / "tiny-llama");
  const LoadedPlugin& plugin = registry.find(kGpu, LMRT_PLUGIN_ENGINE);
  for (const char* yaml : {"dtype: float32\n", "dtype: float8\n"}) {
    try {
      EngineHandle e(plugin, registry.host_api(), yaml, model.desc());
      FAIL() << yaml << " was accepted";
    } catch (const std::exception& ex) {
      EXPECT_NE(std::string(ex.what()).find("turbomind-cuda-fp16"), std::string::npos) << ex.what();
    }
  }
}

// A rank's KV block holds only its KV heads (two of tiny-llama's with one rank, one with two, and one, replicated,
// with four), and the ranks of one device share its pool (the scheduler's block ids name one block on every rank).
TEST(GpuEngine, TensorParallelCapacityCountsOneRanksKvHeads) {
  REQUIRE_GPU();
  setenv("LMRT_TM_TP_ONE_DEVICE", "1", 1);
  PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
  const LoadedPlugin& plugin = registry.find(kGpu, LMRT_PLUGIN_ENGINE);
  LoadedModel model = load_model(fixtures_dir() / "tiny-llama");
  lmrt_capacity_query q{sizeof(q), 16, 0.05f, 256, 4096, 4096};
  std::vector<lmrt_capacity> caps;
  for (const char* tp : {"1", "2", "4"}) {
    EngineHandle e(plugin, registry.host_api(), std::string("tp: ") + tp + "\n", model.desc());
    caps.push_back(e.capacity(q));
  }
  unsetenv("LMRT_TM_TP_ONE_DEVICE");
  EXPECT_EQ(caps[1].block_bytes * 2, caps[0].block_bytes);
  EXPECT_EQ(caps[2].block_bytes, caps[1].block_bytes);
  // Two ranks of half-size blocks share the device's pool: about one rank's count (less what the second rank's
  // weights took); four ranks of the same blocks (KV replicated) half of that.
  EXPECT_LE(caps[1].num_blocks, caps[0].num_blocks);
  EXPECT_GE(caps[1].num_blocks, caps[0].num_blocks / 10 * 9);
  EXPECT_LE(caps[2].num_blocks, caps[1].num_blocks / 2 + 1);
  EXPECT_GE(caps[2].num_blocks, caps[1].num_blocks / 20 * 9);
  EXPECT_GT(caps[2].weight_bytes, caps[1].weight_bytes);  // the embeddings and LM head replicated on each rank
  EXPECT_NE(std::string(caps[1].device).find("tp 2"), std::string::npos) << caps[1].device;
}

// What tensor parallelism cannot do is a clear error when the engine is created, before any device work: shapes
// the plan cannot split, more ranks than the engine drives, bad values, and (without LMRT_TM_TP_ONE_DEVICE) more
// ranks than devices. Runs without a GPU too (the plan is checked first).
TEST(GpuEngineConfig, TensorParallelErrorsNameTheProblem) {
  PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
  const LoadedPlugin* plugin = nullptr;
  try {
    plugin = &registry.find(kGpu, LMRT_PLUGIN_ENGINE);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "the GPU engine plugin is not built: " << e.what();
  }
  LoadedModel model = load_model(fixtures_dir() / "tiny-llama");
  unsetenv("LMRT_TM_TP_ONE_DEVICE");
  struct Case {
    std::string yaml, want;
    lmrt_status_code code;
  };
  std::vector<Case> cases{{"tp: 3\n", "engine.tp: tp 3 does not divide num_heads 4", LMRT_STATUS_CONFIG_ERROR},
                          {"tp: 16\n", "engine.tp 16 exceeds 8", LMRT_STATUS_CONFIG_ERROR},
                          {"tp: 0\n", "engine.tp must be an integer in [1, 64], got '0'", LMRT_STATUS_CONFIG_ERROR},
                          {"tp: two\n", "engine.tp must be an integer in [1, 64], got 'two'", LMRT_STATUS_CONFIG_ERROR}};
  for (const Case& c : cases) {
    try {
      EngineHandle e(*plugin, registry.host_api(), c.yaml, model.desc());
      ADD_FAILURE() << c.yaml << ": created";
    } catch (const lmrt::Error& e) {
      EXPECT_EQ(e.code(), c.code) << c.yaml << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(c.want), std::string::npos) << c.yaml << ": " << e.what();
    }
  }
}

// Without LMRT_TM_TP_ONE_DEVICE, each rank needs a device of its own: on a machine with fewer than four, tp 4 says so.
TEST(GpuEngineConfig, TensorParallelNeedsADeviceARank) {
  REQUIRE_GPU();
  unsetenv("LMRT_TM_TP_ONE_DEVICE");
  PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
  const LoadedPlugin& plugin = registry.find(kGpu, LMRT_PLUGIN_ENGINE);
  LoadedModel model = load_model(fixtures_dir() / "tiny-llama");
  try {
    EngineHandle e(plugin, registry.host_api(), "tp: 4\n", model.desc());
    GTEST_SKIP() << "this machine has four CUDA devices or more: tp 4 has a device a rank";
  } catch (const lmrt::Error& e) {
    EXPECT_EQ(e.code(), LMRT_STATUS_UNSUPPORTED) << e.what();
    EXPECT_NE(std::string(e.what()).find("engine.tp 4 needs CUDA devices 0..3 but this machine has"), std::string::npos)
        << e.what();
  }
}

namespace {

// tp 2 and tp 4, every rank on this one device (LMRT_TM_TP_ONE_DEVICE=1), against tp 1: three prompts (a prefill
// step, then decode steps), tp N fed tp 1's tokens so that every step sees the same context. Each step's logprobs
// (tp 1's top 20 looked up in tp N's) stay within `tolerance` of tp 1's, and tp N's greedy token differs from tp 1's
// only where tp 1's best two were within 0.05 of each other. A rank's GEMMs have other shapes, so cuBLAS sums in
// another order and an fp16 rounding flips now and then: near ties may go either way. The bound is the fp16 one,
// or, with `yardstick`, twice the distance from tp 1 of tp 1 with those variables (another correct kernel) if that
// is larger. `env` applies to every run (LMRT_TM_GEMV_ROWS=8 sends the three-token decode steps through the
// skinny-GEMM chain, whose residual adds the all-reduce then does).
void expect_tensor_parallel_matches_one_rank(const fs::path& dir, uint32_t num_blocks, const Env& env,
                                             const Env* yardstick = nullptr) {
  const std::vector<std::vector<int32_t>> prompts{prompt_ids(40, 0), prompt_ids(9, 1), prompt_ids(150, 2)};
  const int steps = 24;
  const std::string fp16 = "dtype: float16\n";
  const auto one = run_steps(dir, prompts, 12, steps, env, fp16, nullptr, num_blocks);
  ASSERT_EQ(one.size(), prompts.size() * steps);
  // The largest relative distance of `got`'s logprobs from tp 1's at tp 1's top tokens, and how many there were.
  auto distance = [&](const std::vector<lmrt_token_logprobs>& got, size_t& looked_up) {
    ErrorStats err;
    looked_up = 0;
    for (size_t k = 0; k < one.size() && k < got.size(); ++k)
      for (uint32_t i = 0; i < one[k].num_top; ++i)
        for (uint32_t j = 0; j < got[k].num_top; ++j)
          if (one[k].top_tokens[i] == got[k].top_tokens[j])
            err.add(got[k].top_logprobs[j], one[k].top_logprobs[i]), ++looked_up;
    return err.max_rel;
  };
  double tolerance = kTol;
  if (yardstick) {
    size_t looked_up = 0;
    Env both = env;
    both.insert(both.end(), yardstick->begin(), yardstick->end());
    const double d = distance(run_steps(dir, prompts, 12, steps, both, fp16, &one, num_blocks), looked_up);
    std::printf("[gpu-table] tensor parallel %s: the yardstick at tp 1, fed the same tokens: max_rel_logprob_err "
                "%.3g\n", dir.filename().c_str(), d);
    tolerance = std::max(kTol, 2 * d);
  }
  for (const char* tp : {"2", "4"}) {
    Env ranks_env = env;
    ranks_env.push_back({"LMRT_TM_TP_ONE_DEVICE", "1"});
    const auto ranks = run_steps(dir, prompts, 12, steps, ranks_env, fp16 + "tp: " + tp + "\n", &one, num_blocks);
    ASSERT_EQ(ranks.size(), one.size());
    size_t tokens_same = 0, near_ties = 0, looked_up = 0;
    for (size_t k = 0; k < one.size(); ++k) {
      const lmrt_token_logprobs &a = one[k], &b = ranks[k];
      if (a.token == b.token) {
        ++tokens_same;
        continue;
      }
      ASSERT_GE(a.num_top, 2u);
      const bool tie = a.top_logprobs[0] - a.top_logprobs[1] < 0.05f;
      near_ties += tie;
      EXPECT_TRUE(tie) << "tp " << tp << " output " << k << ": token " << b.token << " instead of " << a.token
                       << ", whose lead was " << a.top_logprobs[0] - a.top_logprobs[1];
    }
    const double err = distance(ranks, looked_up);
    std::printf("[gpu-table] tensor parallel %s%s tp %s on one device, fed tp 1's tokens: greedy %zu/%zu as tp 1 (the "
                "rest near ties: %zu), max_rel_logprob_err %.3g over %zu logprobs (bound %.3g)\n",
                dir.filename().c_str(), env.empty() ? "" : " (LMRT_TM_GEMV_ROWS=8)", tp, tokens_same, one.size(), near_ties, err,
                looked_up, tolerance);
    EXPECT_LE(err, tolerance) << dir.filename() << " tp " << tp;
    EXPECT_GE(looked_up, one.size() * 10) << dir.filename() << " tp " << tp;
  }
}

}  // namespace

// The tiny models (4 query and 2 KV heads, so tp 4 replicates KV heads), with and without q/k/v biases
// (tiny-qwen2), unchained and through the chain: within the fp16 bound.
TEST(GpuEngine, TensorParallelRanksGiveTheOneRankResults) {
  REQUIRE_GPU();
  for (const Env& env : {Env{}, Env{{"LMRT_TM_GEMV_ROWS", "8"}}})
    for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"})
      expect_tensor_parallel_matches_one_rank(fixtures_dir() / model, 256, env);
}

// The same on a model folder of a real shape when LMRT_TP_CHECK_MODEL names one (scripts/gpu/tp-check.sh writes
// random-weight llama-2-7b and qwen2-7b folders). Over 32 layers of random weights one flipped rounding moves the
// logprobs more than on the tiny models, so the yardstick is another correct kernel at tp 1, the CUDA-core
// attention: tp N stays within twice its distance from tp 1 (or within the fp16 bound).
TEST(GpuEngine, TensorParallelRanksGiveTheOneRankResultsOnARealShape) {
  REQUIRE_GPU();
  const char* dir_env = std::getenv("LMRT_TP_CHECK_MODEL");
  if (!dir_env || !*dir_env) GTEST_SKIP() << "LMRT_TP_CHECK_MODEL names no model folder";
  const Env cuda_cores{{"LMRT_TM_ATTENTION_TENSOR_CORES", "0"}};
  for (const Env& env : {Env{}, Env{{"LMRT_TM_GEMV_ROWS", "8"}}})
    expect_tensor_parallel_matches_one_rank(dir_env, 40, env, &cuda_cores);
}

// A bad step on a tensor-parallel engine fails as a whole with the same clear status as on one rank (every rank
// rejects it; the first to fail releases the others), and the next step runs.
TEST(GpuEngine, TensorParallelBadStepIsAClearErrorAndTheEngineStaysUsable) {
  REQUIRE_GPU();
  setenv("LMRT_TM_TP_ONE_DEVICE", "1", 1);
  StepEngine e(kGpu, fixtures_dir() / "tiny-llama", "tp: 2\n", 16);
  unsetenv("LMRT_TM_TP_ONE_DEVICE");
  std::vector<int32_t> table{0, 1}, bad_tokens{5, 9999, 7}, tokens{5, 6, 7};
  lmrt_sampling_params sp = greedy_params();
  lmrt_step_seq s{};
  s.struct_size = sizeof(s);
  s.seq_id = 1;
  s.tokens = bad_tokens.data();
  s.num_tokens = 3;
  s.block_table = table.data();
  s.num_blocks = 2;
  s.sampling = &sp;
  for (int round = 0; round < 2; ++round) {
    std::vector<lmrt_token_logprobs> out;
    lmrt_status* st = e.step({s}, out);
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(e.host()->status_code(st), LMRT_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::string(e.host()->status_message(st)).find("tokens[1]"), std::string::npos)
        << e.host()->status_message(st);
    e.host()->status_release(st);
    EXPECT_GE(e.greedy(tokens, 0).token, 0) << "round " << round;
  }
}

namespace {

// `steps` greedy steps with the knobs `off` and then `on`, eager and in decode graphs, one sequence (the default
// chain) and three (LMRT_TM_GEMV_ROWS=8): how many outputs have the same bits, of how many.
struct SameBits {
  size_t same = 0, total = 0;
};
SameBits same_bits_between(const fs::path& dir, const Env& off_knobs, const Env& on_knobs, int steps) {
  SameBits count;
  const std::string what = off_knobs.empty() ? "" : std::string(off_knobs.front().first);
  for (const char* graphs : {"0", "1"})
    for (const char* rows : {"1", "8"}) {
      const std::vector<std::vector<int32_t>> prompts =
          rows[0] == '1' ? std::vector<std::vector<int32_t>>{prompt_ids(30, 0)}
                         : std::vector<std::vector<int32_t>>{prompt_ids(30, 0), prompt_ids(7, 1), prompt_ids(90, 2)};
      Env off{{"LMRT_TM_CUDA_GRAPHS", graphs}, {"LMRT_TM_GEMV_ROWS", rows}}, on = off;
      off.insert(off.end(), off_knobs.begin(), off_knobs.end());
      on.insert(on.end(), on_knobs.begin(), on_knobs.end());
      const auto a = run_steps(dir, prompts, 8, steps, off);
      const auto b = run_steps(dir, prompts, 8, steps, on);
      EXPECT_EQ(a.size(), prompts.size() * steps) << what << " graphs " << graphs << " rows " << rows;
      EXPECT_EQ(b.size(), a.size()) << what << " graphs " << graphs << " rows " << rows;
      size_t same = 0;
      for (size_t k = 0; k < std::min(a.size(), b.size()); ++k) same += same_bits(a[k], b[k]);
      EXPECT_EQ(same, a.size()) << what << " graphs " << graphs << " rows " << rows;
      count.same += same, count.total += prompts.size() * steps;
    }
  return count;
}
// The same with switch `name` at 0 and at 1.
SameBits same_bits_off_and_on(const fs::path& dir, const char* name, int steps) {
  return same_bits_between(dir, {{name, "0"}}, {{name, "1"}}, steps);
}

}  // namespace

// The chain's gate/up GEMM applying SiLU-and-multiply itself (LMRT_TM_GEMV_SILU=1, the default) rounds its outputs
// and applies the staging's function, so the down GEMM sees the bits it staged before: the same outputs, eager and
// in decode graphs, one sequence (the default chain) and three (LMRT_TM_GEMV_ROWS=8).
TEST(GpuEngine, SiluInTheGateUpGemmChangesNoBit) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    const SameBits count = same_bits_off_and_on(dir, "LMRT_TM_GEMV_SILU", 8);
    EXPECT_EQ(count.same, count.total) << model;
    std::printf("[gpu-table] silu in the gate/up gemm %s: %zu/%zu outputs bit-identical (eager, graphs; 1 and 3 "
                "sequences)\n", model, count.same, count.total);
    expect_knob_paths(dir, "LMRT_TM_GEMV_SILU", "gemm w1|w3 + silu * mul", nullptr, "silu * mul + gemm w2");
  }
}

// The skinny GEMM's blocks take row tiles from a counter (LMRT_TM_GEMV_DYNAMIC=1, the default) where a block has
// eight or more: which block computes a tile changes no bit, and each launch leaves the counter at zero for the
// next (a launch that found it elsewhere would skip tiles and garble the steps after it). The tiny fixtures have
// too few tiles for that, so this model's LM head has 49152 rows (3072 tiles of 16 rows, 12 a block on 132 SMs'
// 264 blocks; 8 or more up to 192 SMs); 12 steps, eager and in decode graphs, one sequence and three. The
// engine's kernel profile shows that the LM head took its tiles (a bit-identity test alone would pass were they
// never taken).
TEST(GpuEngine, TakenGemvTilesChangeNoBit) {
  REQUIRE_GPU();
  const fs::path dir = tiny_fp16_model("lmrt-gpu-gemv-tiles", 64, 512, 49152, 11);
  const SameBits count = same_bits_off_and_on(dir, "LMRT_TM_GEMV_DYNAMIC", 12);
  EXPECT_EQ(count.same, count.total);
  std::printf("[gpu-table] gemv tiles taken from a counter: %zu/%zu outputs bit-identical to the fixed schedule "
              "(eager, graphs; 1 and 3 sequences)\n", count.same, count.total);
  expect_knob_paths(dir, "LMRT_TM_GEMV_DYNAMIC", "LM head (tiles taken)", "LM head (tiles taken)", "LM head");
}

namespace {

// A qwen2 of random weights wide enough for several skinny-GEMM tiles a block (hidden 5120, q/k/v biases, two
// layers), in the temporary folder `name`.
fs::path write_wide_qwen2(const char* name, uint64_t seed) {
  TinyModelSpec spec;
  spec.arch = ModelArch::qwen2;
  spec.dtype = LMRT_DTYPE_F16;
  spec.hidden = 5120, spec.heads = 40, spec.kv_heads = 8, spec.intermediate = 1024, spec.layers = 2;
  spec.max_position_embeddings = 1024, spec.seed = seed;
  const fs::path dir = fs::temp_directory_path() / name;
  write_tiny_model(dir, spec);
  return dir;
}

// `knob` at 0 and at 1 gives the same outputs (8 steps, eager and in graphs, one and three sequences) on each tiny
// fixture and on a wide qwen2 written to `wide_name` with `seed`; a table row each, named by `what`.
void expect_same_bits_on_tiny_and_wide(const char* knob, const char* wide_name, uint64_t seed, const char* what) {
  const fs::path wide = write_wide_qwen2(wide_name, seed);
  for (const fs::path& dir : {fixtures_dir() / "tiny-llama", fixtures_dir() / "tiny-qwen2",
                              fixtures_dir() / "tiny-internlm2", wide}) {
    const SameBits count = same_bits_off_and_on(dir, knob, 8);
    EXPECT_EQ(count.same, count.total) << dir;
    std::printf("[gpu-table] %s %s: %zu/%zu outputs bit-identical (eager, graphs; 1 and 3 sequences)\n", what,
                dir.filename().c_str(), count.same, count.total);
  }
  fs::remove_all(wide);
}

}  // namespace

// The skinny GEMM loading its stores' inputs (the residual, RoPE's bias and rotation, the KV places) as a tile
// starts and the norm weights before its wait (LMRT_TM_GEMV_EARLY=1, the default) reads what it read after the last
// round: the same outputs. The tiny fixtures give a block one tile; a wider qwen2 (hidden 5120, q/k/v biases, two
// layers) gives its blocks, on 132 SMs, two QKV tiles and three of the output and down GEMMs, whose later tiles
// load theirs during the tile before.
TEST(GpuEngine, EarlyGemvLoadsChangeNoBit) {
  REQUIRE_GPU();
  expect_same_bits_on_tiny_and_wide("LMRT_TM_GEMV_EARLY", "lmrt-gpu-gemv-early", 12, "gemv inputs loaded early");
}

// The skinny GEMM copying a plain X (the output GEMM's attention rows, the down GEMM's SiLU products) into shared
// memory after its wait (LMRT_TM_GEMV_STAGE_X=1: every one; 0: none; 2, the default: long unsplit rows) multiplies
// the same values in the same order as reading them through L1 in the rounds: the same outputs, eager and in decode
// graphs, at one and at three sequences; on the wide qwen2 the output GEMM's blocks serve three tiles from one
// staged X. The engine's kernel profile shows that the output and down GEMMs staged it at 1 and not at 0 (a
// bit-identity test alone would pass were it never staged).
TEST(GpuEngine, StagedPlainGemvInputChangesNoBit) {
  REQUIRE_GPU();
  expect_same_bits_on_tiny_and_wide("LMRT_TM_GEMV_STAGE_X", "lmrt-gpu-gemv-stage-x", 13, "plain gemv input staged");
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    const std::string on = profiled_kernels(dir, {{"LMRT_TM_GEMV_STAGE_X", "1"}});
    const std::string off = profiled_kernels(dir, {{"LMRT_TM_GEMV_STAGE_X", "0"}});
    EXPECT_NE(on.find("gemm wo (x staged) + add"), std::string::npos) << model << ": " << on;
    EXPECT_NE(on.find("gemm w2 (x staged) + add"), std::string::npos) << model << ": " << on;
    EXPECT_EQ(off.find("(x staged)"), std::string::npos) << model << ": " << off;
    EXPECT_NE(off.find("gemm wo + add"), std::string::npos) << model << ": " << off;
  }
}

// A one-row norm in the skinny GEMM holding its residual in registers (LMRT_TM_GEMV_NORM_REGISTERS=1, the default)
// sums and multiplies as the loop does: the same outputs as the loop, for the attention and FFN norms and the final
// one before the LM head, eager and in decode graphs; three sequences take the loop either way (a row's bits do not
// depend on M). The wide qwen2 (hidden 5120) gives each thread five pieces of 4, the tiny fixtures one or none.
// The engine's kernel profile shows that a one-row step's QKV GEMM took the register path at 1 and not at 0 (a
// bit-identity test alone would pass were it never taken).
TEST(GpuEngine, NormInRegistersChangesNoBit) {
  REQUIRE_GPU();
  expect_same_bits_on_tiny_and_wide("LMRT_TM_GEMV_NORM_REGISTERS", "lmrt-gpu-norm-registers", 15,
                                    "norm in registers");
  for (const char* model : {"tiny-llama", "tiny-qwen2", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    const std::string on = profiled_kernels(dir, {{"LMRT_TM_GEMV_NORM_REGISTERS", "1"}});
    const std::string off = profiled_kernels(dir, {{"LMRT_TM_GEMV_NORM_REGISTERS", "0"}});
    EXPECT_NE(on.find("rms norm in registers + gemm wqkv"), std::string::npos) << model << ": " << on;
    EXPECT_EQ(off.find("in registers"), std::string::npos) << model << ": " << off;
    EXPECT_NE(off.find("rms norm + gemm wqkv"), std::string::npos) << model << ": " << off;
  }
}

// L2 prefetch (kernels/l2_prefetch.cuh) is a hint: attention asking for the output GEMM's and the gate/up GEMM's
// weights, and each GEMM's blocks for the next GEMM's, gives the same outputs as none. The tiny fixtures' weights
// fit a budget of 1 MiB whole; the wider qwen2 of the test above (hidden 5120) has a 50 MiB output GEMM and a 20 MiB
// gate/up pair, so 16 MiB asks for a third of the output GEMM's rounds and 64 MiB for all of them and 70% of the
// gate/up's; a tail of 30% asks for the first rounds of every slice.
TEST(GpuEngine, L2PrefetchChangesNoBit) {
  REQUIRE_GPU();
  const fs::path wide = write_wide_qwen2("lmrt-gpu-l2-prefetch", 13);
  const Env none{{"LMRT_TM_L2_PREFETCH_MB", "0"}, {"LMRT_TM_L2_PREFETCH_TAIL", "0"}};
  for (const fs::path& dir : {fixtures_dir() / "tiny-llama", fixtures_dir() / "tiny-qwen2",
                              fixtures_dir() / "tiny-internlm2", wide})
    for (const Env& on : {Env{{"LMRT_TM_L2_PREFETCH_MB", "1"}, {"LMRT_TM_L2_PREFETCH_TAIL", "100"}},
                          Env{{"LMRT_TM_L2_PREFETCH_MB", "16"}, {"LMRT_TM_L2_PREFETCH_TAIL", "30"}},
                          Env{{"LMRT_TM_L2_PREFETCH_MB", "64"}, {"LMRT_TM_L2_PREFETCH_TAIL", "0"}}}) {
      const SameBits count = same_bits_between(dir, none, on, 8);
      EXPECT_EQ(count.same, count.total) << dir;
      std::printf("[gpu-table] L2 prefetch %s MiB, tail %s%% on %s: %zu/%zu outputs bit-identical to none (eager, "
                  "graphs; 1 and 3 sequences)\n", on[0].second, on[1].second, dir.filename().c_str(), count.same,
                  count.total);
    }
  fs::remove_all(wide);
}

namespace {

// A core's steps with the LMRT_STEP_NEXT_IS_DECODE hint, in KV blocks of 16 tokens, each table as long as the step
// needs: sequences 10, 11 and 12 (prompts of 20, 25 and 30 tokens) prefill in step 0 and decode in steps 1-5;
// sequence 11 leaves (a stop token) and 13 joins with a 12-token prompt in step 6; 10, 12 and 13 decode in steps
// 7-11; steps 10 and 11 carry no hint. Sequence 12's step 3 starts a block its step 2 did not name, so nothing is
// guessed after step 2. Returns each step's outputs and the engine's log.
struct ScriptRun {
  std::vector<std::vector<lmrt_token_logprobs>> steps;
  std::string log;
};

ScriptRun run_hinted_script(const fs::path& dir, const char* lookahead) {
  lmrt::testing::LogCapture log;
  ScriptRun run;
  {
    setenv("LMRT_TM_LOOKAHEAD", lookahead, 1);
    StepEngine e(kGpu, dir, "dtype: float16\n", 256, 16);
    unsetenv("LMRT_TM_LOOKAHEAD");
    struct Seq {
      uint64_t id;
      std::vector<int32_t> input, table;
      uint32_t start = 0;
      bool live;
    };
    std::vector<Seq> seqs;
    for (uint32_t i = 0; i < 4; ++i) {
      std::vector<int32_t> table(64);
      std::iota(table.begin(), table.end(), static_cast<int32_t>(64 * i));
      seqs.push_back({10 + i, prompt_ids(i == 3 ? 12 : 20 + 5 * i, i), table, 0, i < 3});
    }
    const lmrt_sampling_params sp = greedy_params();
    for (int step = 0; step < 12; ++step) {
      if (step == 6) seqs[1].live = false, seqs[3].live = true;
      std::vector<lmrt_step_seq> batch;
      std::vector<Seq*> live;
      for (Seq& s : seqs) {
        if (!s.live) continue;
        lmrt_step_seq q{};
        q.struct_size = sizeof q;
        q.seq_id = s.id;
        q.tokens = s.input.data();
        q.num_tokens = static_cast<uint32_t>(s.input.size());
        q.start_pos = s.start;
        q.block_table = s.table.data();
        q.num_blocks = (s.start + q.num_tokens + 15) / 16;
        q.sampling = &sp;
        batch.push_back(q);
        live.push_back(&s);
      }
      std::vector<lmrt_token_logprobs> out;
      lmrt_status* st = e.step(batch, out, step < 10 ? LMRT_STEP_NEXT_IS_DECODE : 0u);
      EXPECT_EQ(st, nullptr) << "step " << step << ": " << (st ? e.host()->status_message(st) : "");
      if (st) {
        e.host()->status_release(st);
        break;
      }
      for (size_t k = 0; k < live.size(); ++k)
        live[k]->start += static_cast<uint32_t>(live[k]->input.size()), live[k]->input = {out[k].token};
      run.steps.push_back(out);
    }
  }
  run.log = log.text();  // the engine logs its lookahead count when released, above
  return run;
}

}  // namespace

// Decode lookahead (LMRT_TM_LOOKAHEAD=1 and 2): the steps guessed ahead from a decode graph give the bits the
// same graph gives the step itself; where a sequence left and another joined, the guess serves the two that stayed
// (computed in a bucket with the one that left: batch invariance, within the fp16 bound) and the joining prompt
// runs after it. The engine's count says which steps took a guess: 8 guesses of 3 sequences (none after step 2,
// none after the unhinted steps), all used but the leaving sequence's. Mode 2 feeds steps 5, 6, 8, 9 and 10 their
// tokens on the device (each follows a step that took the guess row for row) and the others from the host.
TEST(GpuEngine, DecodeLookaheadGivesTheStepsOwnResults) {
  REQUIRE_GPU();
  for (const char* model : {"tiny-llama", "tiny-internlm2"}) {
    const fs::path dir = fixtures_dir() / model;
    const ScriptRun plain = run_hinted_script(dir, "0");
    ASSERT_EQ(plain.steps.size(), 12u) << model;
    EXPECT_EQ(plain.log.find("lookahead:"), std::string::npos) << plain.log;
    for (const char* mode : {"1", "2"}) {  // tokens fed by the host; on the device where the rows line up
      const ScriptRun ahead = run_hinted_script(dir, mode);
      ASSERT_EQ(ahead.steps.size(), 12u) << model << " mode " << mode;
      size_t same = 0, total = 0, tokens_same = 0, later = 0;
      ErrorStats err;
      for (size_t step = 0; step < 12; ++step) {
        ASSERT_EQ(ahead.steps[step].size(), plain.steps[step].size());
        for (size_t k = 0; k < plain.steps[step].size(); ++k) {
          const lmrt_token_logprobs &a = ahead.steps[step][k], &p = plain.steps[step][k];
          if (step < 6) {
            same += same_bits(a, p), ++total;  // the same graph computed them
          } else {
            tokens_same += a.token == p.token, ++later;
            err.add(a.logprob, p.logprob);
          }
        }
      }
      std::printf("[gpu-table] decode lookahead %s mode %s: steps 0-5 %zu/%zu bit-identical to no lookahead; steps "
                  "6-11 tokens %zu/%zu, max_rel_logprob_err %.3g\n",
                  model, mode, same, total, tokens_same, later, err.max_rel);
      EXPECT_EQ(same, total) << model << " mode " << mode;
      EXPECT_EQ(tokens_same, later) << model << " mode " << mode;
      EXPECT_LE(err.max_rel, kTol) << model << " mode " << mode;
      const std::string count = std::string("lookahead: 23 of 24 guessed sequence steps used; ") +
                                (mode[0] == '2' ? "5" : "0") + " of 8 guesses fed on the device";
      EXPECT_NE(ahead.log.find(count), std::string::npos) << count << "\n" << ahead.log;
    }
  }
}
