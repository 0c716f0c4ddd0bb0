// The sampler (backends/cpu/sampler.cpp, compiled into this test), the shared sampling-parameter checks
// (sdk/include/lmrt/cpp/step_checks.hpp) and the shared random stream (sdk/include/lmrt/cpp/sampling_rng.hpp),
// checked against distributions computed independently here.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "lmrt/cpp/half.hpp"
#include "lmrt/cpp/sampling_rng.hpp"
#include "lmrt/cpp/step_checks.hpp"
#include "lmrt/plugin.hpp"
#include "random_model.hpp"
#include "sampler.hpp"
#include "test_util.hpp"

namespace cpu_test {
namespace {

using lmrt::cpu::sample_token;

lmrt_token_logprobs sample(const std::vector<float>& logits, const lmrt_sampling_params& p, uint64_t position = 7) {
  lmrt::checks::validate_sampling_params("cpu engine", p, static_cast<uint32_t>(logits.size()), 1);
  lmrt_token_logprobs out{};
  out.struct_size = sizeof out;
  sample_token(logits.data(), static_cast<uint32_t>(logits.size()), p, position, out);
  return out;
}

std::vector<float> random_logits(size_t n, uint64_t seed, float scale = 2.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// The tokens top-k, then top-p, then min-p allow, computed plainly: softmax(z / T)
// in double, ranked by probability, renormalised after each filter.
std::set<int32_t> allowed(const std::vector<float>& z, float T, int top_k, float top_p, float min_p) {
  std::vector<std::pair<double, int32_t>> ranked;
  for (size_t i = 0; i < z.size(); ++i) ranked.push_back({z[i] / double(T), int32_t(i)});
  std::sort(ranked.begin(), ranked.end(), [](auto a, auto b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  if (top_k > 0 && size_t(top_k) < ranked.size()) ranked.resize(top_k);
  std::vector<double> p;
  double sum = 0;
  for (auto& [v, id] : ranked) sum += std::exp(v - ranked[0].first);
  for (auto& [v, id] : ranked) p.push_back(std::exp(v - ranked[0].first) / sum);
  if (top_p < 1.f) {
    double c = 0;
    size_t keep = 0;
    while (keep < p.size() && c < top_p) c += p[keep++];
    ranked.resize(keep);
    p.resize(keep);
  }
  std::set<int32_t> out;
  for (size_t i = 0; i < ranked.size(); ++i)
    if (min_p <= 0.f || p[i] >= min_p * p[0]) out.insert(ranked[i].second);
  return out;
}

TEST(Sampler, GreedyIsTheArgmaxWithTiesToTheLowestId) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const auto z = random_logits(33, seed);
    EXPECT_EQ(sample(z, greedy_params()).token, std::max_element(z.begin(), z.end()) - z.begin());
  }
  EXPECT_EQ(sample({1.f, 3.f, 0.f, 3.f, 3.f}, greedy_params()).token, 1);
  lmrt_sampling_params negative_t = greedy_params();
  negative_t.temperature = -1.f;
  EXPECT_EQ(sample({1.f, 3.f, 0.f, 3.5f}, negative_t).token, 3);
}

TEST(Sampler, TopKOneIsGreedyForEverySeed) {
  const auto z = random_logits(40, 3);
  const int32_t argmax = static_cast<int32_t>(std::max_element(z.begin(), z.end()) - z.begin());
  for (uint64_t seed = 0; seed < 300; ++seed) {
    lmrt_sampling_params p = random_params(seed, 1.5f);
    p.top_k = 1;
    EXPECT_EQ(sample(z, p, seed * 3).token, argmax) << "seed " << seed;
  }
}

TEST(Sampler, SeededSamplingIsAPureFunctionOfSeedAndPosition) {
  const auto z = random_logits(64, 4, 0.5f);
  std::set<int32_t> seen;
  for (uint64_t seed = 0; seed < 40; ++seed)
    for (uint64_t pos = 0; pos < 5; ++pos) {
      const lmrt_sampling_params p = random_params(seed);
      const int32_t a = sample(z, p, pos).token;
      EXPECT_EQ(a, sample(z, p, pos).token);
      seen.insert(a);
    }
  EXPECT_GT(seen.size(), 20u) << "different seeds and positions must give different draws";
}

TEST(Sampler, FiltersNeverPickExcludedTokens) {
  struct Filter {
    int top_k;
    float top_p, min_p, temperature;
  };
  const Filter filters[] = {{5, 1.f, 0.f, 1.f}, {0, 0.6f, 0.f, 1.f}, {0, 1.f, 0.2f, 1.f}, {10, 0.9f, 0.1f, 0.7f},
                            {3, 0.5f, 0.f, 2.f}, {0, 0.95f, 0.05f, 1.3f}, {0, 1.f, 0.5f, 0.5f}};
  for (uint64_t case_seed = 0; case_seed < 6; ++case_seed) {
    const auto z = random_logits(50, 100 + case_seed, 1.5f);
    for (const Filter& f : filters) {
      const std::set<int32_t> ok = allowed(z, f.temperature, f.top_k, f.top_p, f.min_p);
      std::set<int32_t> drawn;
      for (uint64_t seed = 0; seed < 400; ++seed) {
        lmrt_sampling_params p = random_params(seed, f.temperature);
        p.top_k = f.top_k, p.top_p = f.top_p, p.min_p = f.min_p;
        const int32_t t = sample(z, p, seed).token;
        EXPECT_TRUE(ok.count(t)) << "token " << t << " is excluded (top_k " << f.top_k << ", top_p " << f.top_p
                                 << ", min_p " << f.min_p << ")";
        drawn.insert(t);
      }
      if (ok.size() > 1) EXPECT_GT(drawn.size(), 1u) << "sampling should not collapse to one token";
    }
  }
}

// After top-k / top-p the draw walks the survivors in id order (docs/engines/cpu.md, step 9): token 0 holds the
// first stretch of u even though token 2 is more probable.
TEST(Sampler, TruncatedSurvivorsAreWalkedInIdOrder) {
  const std::vector<float> z = {1.0f, -3.0f, 1.7f, -2.0f};
  std::vector<double> e;
  for (float v : z) e.push_back(std::exp(double(v)));
  for (const bool by_top_k : {false, true}) {
    int low = 0;
    for (uint64_t seed = 0; seed < 200; ++seed) {
      lmrt_sampling_params p = random_params(seed, 1.f);
      if (by_top_k) p.top_k = 2;
      else p.top_p = 0.98f;  // tokens 2 and 0 hold 0.653 + 0.324 < 0.98 of the mass, so token 3 (0.016) survives too
      const std::vector<int32_t> survivors = by_top_k ? std::vector<int32_t>{0, 2} : std::vector<int32_t>{0, 2, 3};
      double total = 0;
      for (int32_t t : survivors) total += e[t];
      const double target = lmrt::rng::sampling_uniform(p.seed, seed) * total;
      int32_t expected = survivors.back();
      double cumulative = 0;
      for (int32_t t : survivors)
        if (target < (cumulative += e[t])) {
          expected = t;
          break;
        }
      low += expected == 0;
      EXPECT_EQ(sample(z, p, seed).token, expected) << "seed " << seed << (by_top_k ? " top_k" : " top_p");
    }
    EXPECT_GT(low, 40) << "the seeds must reach token 0's stretch";
  }
}

TEST(Sampler, TemperatureOneFrequenciesMatchTheSoftmax) {
  const std::vector<float> z = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, -1.5f};
  double sum = 0;
  for (float v : z) sum += std::exp(double(v));
  const int N = 20000;
  std::vector<int> count(z.size(), 0);
  for (int i = 0; i < N; ++i) ++count[sample(z, random_params(0xC0FFEE), uint64_t(i)).token];  // one seed, many positions
  double chi2 = 0;
  for (size_t t = 0; t < z.size(); ++t) {
    const double expected = N * std::exp(double(z[t])) / sum;
    chi2 += (count[t] - expected) * (count[t] - expected) / expected;
  }
  EXPECT_LT(chi2, 20.5) << "chi-square with 5 degrees of freedom beyond p = 0.001";
}

TEST(Sampler, RepetitionPenaltyChangesTheArgmax) {
  const std::vector<float> z = {2.0f, 1.9f, -1.0f, -1.1f};
  lmrt_sampling_params p = greedy_params();
  const int32_t history[] = {0, 0, 3};
  p.penalty_tokens = history;
  p.num_penalty_tokens = 3;
  p.repetition_penalty = 1.2f;  // 2.0 / 1.2 = 1.67 < 1.9: token 1 wins
  EXPECT_EQ(sample(z, p).token, 1);
  const std::vector<float> negative = {-1.0f, -1.1f, -5.f};
  const int32_t history2[] = {0};
  p.penalty_tokens = history2;
  p.num_penalty_tokens = 1;  // -1.0 * 1.2 = -1.2 < -1.1: token 1 wins
  EXPECT_EQ(sample(negative, p).token, 1);
}

TEST(Sampler, PresenceAndFrequencyPenaltiesCountOnlyGeneratedTokens) {
  const std::vector<float> z = {1.0f, 0.8f, 0.0f};
  const int32_t history[] = {0, 0, 0, 2, 0, 0};  // prompt {0, 0, 0, 2}, generated {0, 0}
  lmrt_sampling_params p = greedy_params();
  p.penalty_tokens = history;
  p.num_penalty_tokens = 6;
  p.num_generated = 2;
  p.frequency_penalty = 0.15f;  // 1.0 - 2 * 0.15 = 0.7 < 0.8
  EXPECT_EQ(sample(z, p).token, 1);
  p.frequency_penalty = 0.f;
  p.presence_penalty = 0.15f;  // 1.0 - 0.15 = 0.85 > 0.8: counted once
  EXPECT_EQ(sample(z, p).token, 0);
  p.presence_penalty = 0.25f;  // 0.75 < 0.8
  EXPECT_EQ(sample(z, p).token, 1);
  p.num_generated = 0;  // the prompt's tokens do not count
  EXPECT_EQ(sample(z, p).token, 0);
}

TEST(Sampler, BannedTokensAreNeverSampled) {
  const auto z = random_logits(12, 9);
  const int32_t best = static_cast<int32_t>(std::max_element(z.begin(), z.end()) - z.begin());
  const int32_t banned[] = {best, 3};
  for (uint64_t seed = 0; seed < 500; ++seed) {
    lmrt_sampling_params p = seed % 5 == 0 ? greedy_params() : random_params(seed, 2.f);
    p.banned_tokens = banned;
    p.num_banned_tokens = 2;
    const int32_t t = sample(z, p, seed).token;
    EXPECT_NE(t, best);
    EXPECT_NE(t, 3);
  }
}

TEST(Sampler, LogprobsComeFromTheRawLogits) {
  const auto z = random_logits(30, 21);
  double m = *std::max_element(z.begin(), z.end()), sum = 0;
  for (float v : z) sum += std::exp(double(v) - m);
  lmrt_sampling_params p = random_params(5, 0.3f);
  p.repetition_penalty = 1.5f;
  const int32_t history[] = {1, 2, 3};
  p.penalty_tokens = history;
  p.num_penalty_tokens = 3;
  p.top_logprobs = 20;
  const auto out = sample(z, p);
  EXPECT_NEAR(out.logprob, z[out.token] - m - std::log(sum), 1e-5);
  ASSERT_EQ(out.num_top, 20u);
  for (uint32_t i = 0; i < 20; ++i) {
    EXPECT_NEAR(out.top_logprobs[i], z[out.top_tokens[i]] - m - std::log(sum), 1e-5);
    if (i) EXPECT_GE(out.top_logprobs[i - 1], out.top_logprobs[i]);
  }
  std::vector<float> sorted = z;
  std::sort(sorted.rbegin(), sorted.rend());
  EXPECT_EQ(z[out.top_tokens[0]], sorted[0]);
  EXPECT_EQ(z[out.top_tokens[19]], sorted[19]);
}

TEST(Sampler, TinyTemperatureDoesNotOverflow) {
  const auto z = random_logits(10, 2);
  lmrt_sampling_params p = random_params(1, 1e-30f);
  EXPECT_EQ(sample(z, p).token, std::max_element(z.begin(), z.end()) - z.begin());
}

TEST(Sampler, InvalidParamsAreRejectedNamingTheField) {
  struct Bad {
    const char* field;
    void (*edit)(lmrt_sampling_params&);
  };
  static const int32_t out_of_range[] = {3, 99};
  static const int32_t all[] = {0, 1, 2, 3};
  const Bad bad[] = {
      {"temperature", [](lmrt_sampling_params& p) { p.temperature = NAN; }},
      {"top_p", [](lmrt_sampling_params& p) { p.top_p = 0.f; }},
      {"min_p", [](lmrt_sampling_params& p) { p.min_p = 1.5f; }},
      {"repetition_penalty", [](lmrt_sampling_params& p) { p.repetition_penalty = 0.f; }},
      {"presence_penalty", [](lmrt_sampling_params& p) { p.presence_penalty = INFINITY; }},
      {"frequency_penalty", [](lmrt_sampling_params& p) { p.frequency_penalty = NAN; }},
      {"top_logprobs", [](lmrt_sampling_params& p) { p.top_logprobs = 21; }},
      {"penalty_tokens", [](lmrt_sampling_params& p) { p.num_penalty_tokens = 2, p.penalty_tokens = nullptr; }},
      {"penalty_tokens[1]", [](lmrt_sampling_params& p) { p.num_penalty_tokens = 2, p.penalty_tokens = out_of_range; }},
      {"num_generated", [](lmrt_sampling_params& p) { p.num_generated = 1; }},
      {"banned_tokens[1]", [](lmrt_sampling_params& p) { p.num_banned_tokens = 2, p.banned_tokens = out_of_range; }},
      {"banned_tokens bans every token", [](lmrt_sampling_params& p) { p.num_banned_tokens = 4, p.banned_tokens = all; }},
      {"struct_size", [](lmrt_sampling_params& p) { p.struct_size = 8; }},
  };
  for (const Bad& b : bad) {
    lmrt_sampling_params p = random_params(1);
    b.edit(p);
    try {
      lmrt::checks::validate_sampling_params("cpu engine", p, 4, 77);
      ADD_FAILURE() << b.field << " was accepted";
    } catch (const lmrt::plugin::Error& e) {
      EXPECT_EQ(e.code(), LMRT_STATUS_INVALID_ARGUMENT);
      EXPECT_NE(std::string(e.what()).find(b.field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("sequence 77"), std::string::npos) << e.what();
    }
  }
}

// Known-answer vectors of Philox-4x32-10 from Random123 (kat_vectors).
TEST(SamplingRng, PhiloxMatchesTheRandom123KnownAnswers) {
  using lmrt::rng::Philox4x32;
  using lmrt::rng::philox4x32_10;
  const Philox4x32 a = philox4x32_10({{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(a.v[0], 0x6627e8d5u);
  EXPECT_EQ(a.v[1], 0xe169c58du);
  EXPECT_EQ(a.v[2], 0xbc57ac4cu);
  EXPECT_EQ(a.v[3], 0x9b00dbd8u);
  const Philox4x32 b = philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(b.v[0], 0x408f276du);
  EXPECT_EQ(b.v[1], 0x41c83b0eu);
  EXPECT_EQ(b.v[2], 0xa20bc7c6u);
  EXPECT_EQ(b.v[3], 0x6d5451fdu);
  const Philox4x32 c = philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  EXPECT_EQ(c.v[0], 0xd16cfe09u);
  EXPECT_EQ(c.v[1], 0x94fdccebu);
  EXPECT_EQ(c.v[2], 0x5001e420u);
  EXPECT_EQ(c.v[3], 0x24126ea1u);
}

TEST(SamplingRng, UniformIsInTheUnitIntervalAndUniform) {
  double sum = 0;
  int low = 0;
  const int N = 100000;
  for (int i = 0; i < N; ++i) {
    const double u = lmrt::rng::sampling_uniform(42, uint64_t(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    low += u < 0.25;
  }
  EXPECT_NEAR(sum / N, 0.5, 0.005);
  EXPECT_NEAR(double(low) / N, 0.25, 0.005);
  EXPECT_NE(lmrt::rng::sampling_uniform(1, 5), lmrt::rng::sampling_uniform(2, 5));
  EXPECT_NE(lmrt::rng::sampling_uniform(1, 5), lmrt::rng::sampling_uniform(1, 6));
  EXPECT_NE(lmrt::rng::sampling_uniform(1ull << 32, 5), lmrt::rng::sampling_uniform(1, 5)) << "all 64 seed bits count";
}

TEST(HalfConversion, EveryF16AndBf16ValueWidensExactly) {
  for (uint32_t bits = 0; bits < 65536; ++bits) {
    const uint16_t h = static_cast<uint16_t>(bits);
    const float engine = lmrt::f16_to_f32(h), independent = decode_f16(h);
    if (std::isnan(independent)) {
      EXPECT_TRUE(std::isnan(engine)) << bits;
    } else {
      EXPECT_EQ(engine, independent) << "f16 bits " << bits;
      EXPECT_EQ(std::signbit(engine), std::signbit(independent)) << "f16 bits " << bits;
    }
    const float b = lmrt::bf16_to_f32(h), ib = decode_bf16(h);
    if (!std::isnan(ib)) EXPECT_EQ(b, ib) << "bf16 bits " << bits;
  }
}

}  // namespace
}  // namespace cpu_test
