// Small helpers shared by the cpu engine tests.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "engine_harness.hpp"
#include "random_model.hpp"

namespace cpu_test {

#define SKIP_WITHOUT_PLUGIN()                                                        \
  do {                                                                               \
    if (!::cpu_test::cpu_plugin().error.empty())                                     \
      GTEST_SKIP() << "cpu plugin not available: " << ::cpu_test::cpu_plugin().error; \
  } while (0)

// The full log-softmax from an output with top_logprobs >= vocab_size.
inline std::vector<double> distribution(const lmrt_token_logprobs& out, uint32_t vocab_size) {
  std::vector<double> lp(vocab_size, std::nan(""));
  for (uint32_t i = 0; i < out.num_top; ++i) lp.at(static_cast<size_t>(out.top_tokens[i])) = out.top_logprobs[i];
  return lp;
}

inline std::vector<int32_t> random_tokens(size_t n, uint32_t vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % vocab);
  return t;
}

// Block ids 0..n-1 in a shuffled order, split into tables of `per_seq` blocks.
inline std::vector<std::vector<int32_t>> shuffled_block_tables(size_t num_seqs, size_t per_seq, uint64_t seed) {
  std::vector<int32_t> ids(num_seqs * per_seq);
  std::iota(ids.begin(), ids.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<std::vector<int32_t>> tables(num_seqs);
  for (size_t s = 0; s < num_seqs; ++s) tables[s].assign(ids.begin() + s * per_seq, ids.begin() + (s + 1) * per_seq);
  return tables;
}

// Bitwise equality of two outputs (token, logprob, alternatives).
inline bool same_bits(const lmrt_token_logprobs& a, const lmrt_token_logprobs& b) {
  if (a.token != b.token || a.num_top != b.num_top) return false;
  if (std::memcmp(&a.logprob, &b.logprob, sizeof(float)) != 0) return false;
  return std::memcmp(a.top_tokens, b.top_tokens, a.num_top * sizeof(int32_t)) == 0 &&
         std::memcmp(a.top_logprobs, b.top_logprobs, a.num_top * sizeof(float)) == 0;
}

}  // namespace cpu_test
