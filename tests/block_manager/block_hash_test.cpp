// The block hash functions: sensitive to every input, well spread.
#include <gtest/gtest.h>

#include <bit>
#include <random>
#include <unordered_set>
#include <vector>

#include "lmrt/core/block_hash.hpp"

namespace lmrt {
namespace {

using V = std::vector<int32_t>;

TEST(BlockHash, DependsOnValuesOrderAndLength) {
  EXPECT_NE(hash_tokens(V{}), hash_tokens(V{0}));
  EXPECT_NE(hash_tokens(V{0}), hash_tokens(V{0, 0}));
  EXPECT_NE(hash_tokens(V{0, 0, 0, 0}), hash_tokens(V{0, 0, 0, 0, 0}));
  EXPECT_NE(hash_tokens(V{1, 2}), hash_tokens(V{2, 1}));
  EXPECT_NE(hash_tokens(V{1, 2, 3, 4, 5}), hash_tokens(V{1, 2, 3, 4, 6}));
  EXPECT_NE(hash_tokens(V{-1}), hash_tokens(V{0}));
  EXPECT_EQ(hash_tokens(V{7, 8, 9}), hash_tokens(V{7, 8, 9}));
}

TEST(BlockHash, ChainDependsOnParentTokensAndSalt) {
  const uint64_t t = hash_tokens(V{1, 2, 3});
  EXPECT_NE(chain_hash(root_hash(0), t), chain_hash(root_hash(1), t));
  EXPECT_NE(chain_hash(1, t), chain_hash(2, t));
  EXPECT_NE(chain_hash(1, t), chain_hash(1, hash_tokens(V{1, 2, 4})));
  EXPECT_NE(chain_hash(1, 2), chain_hash(2, 1));
}

TEST(BlockHash, NoCollisionsOverManySmallAlphabetBlocks) {
  // Every 16-token block over {0,1,2,3} differing in few positions: the case
  // prefix caching meets (templates, repeated text).
  std::mt19937 rng(7);
  std::unordered_set<uint64_t> seen;
  V base(16, 0);
  for (int i = 0; i < 200000; ++i) {
    for (auto& x : base) x = static_cast<int32_t>(rng() % 4);
    seen.insert(hash_tokens(base));
  }
  // Distinct inputs among 4^16 draws: collisions of inputs are possible but rare;
  // allow a few, not the thousands a weak hash gives.
  EXPECT_GT(seen.size(), 199990u);
}

TEST(BlockHash, OneBitChangesHalfTheOutput) {
  std::mt19937 rng(11);
  double flipped = 0;
  int trials = 0;
  for (int i = 0; i < 2000; ++i) {
    V v(16);
    for (auto& x : v) x = static_cast<int32_t>(rng());
    const uint64_t h = hash_tokens(v);
    v[rng() % 16] ^= int32_t(1) << (rng() % 31);
    flipped += std::popcount(h ^ hash_tokens(v));
    const uint64_t parent = (uint64_t(rng()) << 32) | rng();
    flipped += std::popcount(chain_hash(parent, h) ^ chain_hash(parent ^ (uint64_t{1} << (rng() % 64)), h));
    trials += 2;
  }
  const double mean = flipped / trials;
  EXPECT_GT(mean, 30.0);
  EXPECT_LT(mean, 34.0);
}

}  // namespace
}  // namespace lmrt
