// Scenario tests of BlockManager: each sets up a situation whose right answer
// follows from the contract (block_manager.hpp) and checks it.
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <vector>

#include "lmrt/core/block_manager.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt {
namespace {

BlockManagerOptions opts(uint32_t num_blocks, uint32_t B, bool caching = true, uint32_t hash_bits = 64) {
  return BlockManagerOptions{num_blocks, B, caching, hash_bits};
}

// Allocates tokens.size() positions and "computes" them all, committing the full blocks.
SeqBlocks run_prompt(BlockManager& m, const std::vector<int32_t>& tokens, uint64_t salt = 0) {
  SeqBlocks s;
  EXPECT_TRUE(m.allocate(s, tokens, static_cast<uint32_t>(tokens.size()), salt));
  m.commit_full_blocks(s, tokens, static_cast<uint32_t>(tokens.size()));
  m.check_invariants();
  return s;
}

std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (auto& x : t) x = static_cast<int32_t>(rng() % 32000);
  return t;
}

lmrt_status_code code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return LMRT_STATUS_OK;
}

TEST(BlockManager, RejectsBadOptions) {
  EXPECT_EQ(code_of([] { BlockManager m(opts(0, 16)); }), LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of([] { BlockManager m(opts(8, 0)); }), LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of([] { BlockManager m(opts(8, 16, true, 65)); }), LMRT_STATUS_INVALID_ARGUMENT);
}

TEST(BlockManager, AllocateGrowReleaseCounts) {
  BlockManager m(opts(10, 4));
  SeqBlocks s;
  ASSERT_TRUE(m.allocate(s, std::vector<int32_t>{1, 2, 3}, 9));
  EXPECT_EQ(s.table.size(), 3u);  // ceil(9 / 4)
  EXPECT_EQ(s.num_cached_tokens, 0u);
  EXPECT_EQ(m.used_count(), 3u);
  EXPECT_EQ(m.free_count(), 7u);
  ASSERT_TRUE(m.grow(s, 12));  // still 3 blocks
  EXPECT_EQ(s.table.size(), 3u);
  ASSERT_TRUE(m.grow(s, 13));
  EXPECT_EQ(s.table.size(), 4u);
  for (int32_t b : s.table) EXPECT_EQ(m.refcount(b), 1u);
  m.release(s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(m.free_count(), 10u);
  EXPECT_EQ(m.cached_free_count(), 0u);  // nothing was committed
  m.check_invariants();
}

TEST(BlockManager, AllocateNeedsAnEmptySequence) {
  BlockManager m(opts(4, 4));
  SeqBlocks s;
  ASSERT_TRUE(m.allocate(s, std::vector<int32_t>{1}, 1));
  EXPECT_EQ(code_of([&] { m.allocate(s, std::vector<int32_t>{1}, 1); }), LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(m.used_count(), 1u);
}

TEST(BlockManager, CommitChecksItsArguments) {
  BlockManager m(opts(4, 4));
  SeqBlocks s;
  const std::vector<int32_t> t{1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(m.allocate(s, t, 4));
  EXPECT_EQ(code_of([&] { m.commit_full_blocks(s, std::span(t).first(3), 4); }), LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(code_of([&] { m.commit_full_blocks(s, t, 8); }), LMRT_STATUS_INVALID_ARGUMENT);  // one block only
  EXPECT_EQ(m.cached_count(), 0u);
  m.check_invariants();
}

// The scheduler's headline case: a new prompt that shares a 1000-token prefix with
// one that ran before and was released.
TEST(BlockManager, ThousandTokenSharedPrefixIsReused) {
  for (uint32_t B : {1u, 7u, 8u, 16u, 64u, 1000u}) {
    SCOPED_TRACE("B=" + std::to_string(B));
    const uint32_t per_prompt = (1024 + B - 1) / B + 1;
    BlockManager m(opts(3 * per_prompt, B));
    const auto first = random_tokens(1000, B);
    SeqBlocks a = run_prompt(m, first);
    const std::vector<int32_t> first_table = a.table;
    m.release(a);
    EXPECT_EQ(m.cached_free_count(), 1000 / B);  // the full blocks stay cached
    EXPECT_EQ(m.used_count(), 0u);

    // The same prompt again: all full blocks but the one holding the last token.
    const uint32_t reused = 999 / B;
    EXPECT_EQ(m.match_prefix(first), reused * B);
    SeqBlocks b;
    ASSERT_TRUE(m.allocate(b, first, 1000));
    EXPECT_EQ(b.num_cached_tokens, reused * B);
    EXPECT_TRUE(std::equal(first_table.begin(), first_table.begin() + reused, b.table.begin()));
    EXPECT_EQ(m.used_count(), (1000 + B - 1) / B);
    EXPECT_TRUE(m.writable(b, b.num_cached_tokens));
    m.release(b);

    // A longer prompt that continues the first one reuses every full block.
    auto longer = first;
    for (int32_t t : random_tokens(24, 99)) longer.push_back(t);
    SeqBlocks c;
    ASSERT_TRUE(m.allocate(c, longer, static_cast<uint32_t>(longer.size())));
    EXPECT_EQ(c.num_cached_tokens, (1000 / B) * B);
    m.release(c);

    // A prompt diverging at token 500 reuses only what lies before it.
    auto diverging = first;
    diverging[500] += 1;
    EXPECT_EQ(m.match_prefix(diverging), (500 / B) * B);

    EXPECT_EQ(m.stats().prefix_queries, 3u);
    EXPECT_EQ(m.stats().prefix_hit_tokens, reused * B + (1000 / B) * B);
    EXPECT_DOUBLE_EQ(m.stats().hit_rate(), double(reused * B + (1000 / B) * B) / (1000 + 1000 + 1024));
    m.check_invariants();
  }
}

TEST(BlockManager, MatchNeverCoversTheLastToken) {
  BlockManager m(opts(16, 4));
  const std::vector<int32_t> t{1, 2, 3, 4, 5, 6, 7, 8};
  SeqBlocks a = run_prompt(m, t);
  m.release(a);
  EXPECT_EQ(m.match_prefix(t), 4u);                        // 8 tokens: the second block is recomputed
  EXPECT_EQ(m.match_prefix(std::span(t).first(5)), 4u);   // 5 tokens
  EXPECT_EQ(m.match_prefix(std::span(t).first(4)), 0u);   // 4 tokens: the only block holds the last one
  EXPECT_EQ(m.match_prefix(std::span(t).first(0)), 0u);
}

TEST(BlockManager, EvictsLeastRecentlyReleasedFirst) {
  BlockManager m(opts(6, 2));
  const std::vector<int32_t> p1{1, 1, 9}, p2{2, 2, 9}, p3{3, 3, 9};
  for (const auto* p : {&p1, &p2, &p3}) {
    SeqBlocks s = run_prompt(m, *p);  // one full block committed, one partial
    m.release(s);
  }
  EXPECT_EQ(m.cached_free_count(), 3u);
  EXPECT_EQ(m.free_count(), 3u);

  // Four fresh blocks: the three plain free ones first, then p1's, released first.
  SeqBlocks q;
  ASSERT_TRUE(m.allocate(q, std::vector<int32_t>{7, 7, 7, 7, 7, 7, 7, 8}, 8));
  EXPECT_EQ(m.stats().evictions, 1u);
  EXPECT_EQ(m.match_prefix(p1), 0u);
  EXPECT_EQ(m.match_prefix(p2), 2u);
  EXPECT_EQ(m.match_prefix(p3), 2u);
  m.release(q);

  // Using p2 again makes it the most recent: p3 goes next.
  SeqBlocks again;
  ASSERT_TRUE(m.allocate(again, p2, 3));
  EXPECT_EQ(again.num_cached_tokens, 2u);
  m.release(again);
  SeqBlocks r;
  ASSERT_TRUE(m.allocate(r, std::vector<int32_t>{5}, 10));  // 5 blocks: 4 free + 1 evicted
  EXPECT_EQ(m.stats().evictions, 2u);
  EXPECT_EQ(m.match_prefix(p3), 0u);
  EXPECT_EQ(m.match_prefix(p2), 2u);
  m.check_invariants();
}

TEST(BlockManager, EvictsTheTailOfAReleasedSequenceBeforeItsHead) {
  BlockManager m(opts(4, 2));
  const std::vector<int32_t> s_tokens{1, 2, 3, 4, 5, 6, 7};
  SeqBlocks s = run_prompt(m, s_tokens);  // 3 full blocks committed + 1 partial
  m.release(s);
  EXPECT_EQ(m.match_prefix(s_tokens), 6u);
  SeqBlocks other;
  ASSERT_TRUE(m.allocate(other, std::vector<int32_t>{8}, 4));  // the free partial + 1 eviction
  EXPECT_EQ(m.match_prefix(s_tokens), 4u);                    // [5 6] went, [1 2][3 4] stay
  ASSERT_TRUE(m.grow(other, 6));
  EXPECT_EQ(m.match_prefix(s_tokens), 2u);
  m.check_invariants();
}

TEST(BlockManager, ExhaustionFailsWithoutChangingState) {
  BlockManager m(opts(6, 4));
  const std::vector<int32_t> a_tokens{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  SeqBlocks a;
  ASSERT_TRUE(m.allocate(a, a_tokens, 16));  // 4 blocks
  m.commit_full_blocks(a, a_tokens, 10);     // 2 committed
  const auto table = a.table;
  const auto stats = m.stats();

  auto same_state = [&] {
    EXPECT_EQ(m.free_count(), 2u);
    EXPECT_EQ(m.used_count(), 4u);
    EXPECT_EQ(m.cached_count(), 2u);
    EXPECT_EQ(a.table, table);
    EXPECT_EQ(m.stats().evictions, stats.evictions);
    EXPECT_EQ(m.stats().prefix_queries, stats.prefix_queries);
    m.check_invariants();
  };
  SeqBlocks b;
  EXPECT_FALSE(m.can_allocate(std::vector<int32_t>{42}, 12));
  EXPECT_FALSE(m.allocate(b, std::vector<int32_t>{42}, 12));  // needs 3
  EXPECT_TRUE(b.empty());
  same_state();
  EXPECT_EQ(m.blocks_to_grow(a, 28), 3u);
  EXPECT_FALSE(m.grow(a, 28));
  same_state();
  ASSERT_TRUE(m.grow(a, 24));  // exactly the 2 left
  EXPECT_EQ(m.available_count(), 0u);
  // Even a prompt whose prefix is cached (and in use) needs one fresh block.
  EXPECT_EQ(m.match_prefix(a_tokens), 8u);
  EXPECT_FALSE(m.allocate(b, a_tokens, 10));
  m.release(a);
  EXPECT_EQ(m.used_count(), 0u);
  EXPECT_EQ(m.free_count() + m.cached_free_count(), m.total());
  m.check_invariants();
}

TEST(BlockManager, MatchedCachedFreeBlocksCountAgainstAvailability) {
  BlockManager m(opts(3, 2));
  const std::vector<int32_t> p{1, 2, 3, 4, 5};
  SeqBlocks a = run_prompt(m, p);  // [1 2][3 4] committed, [5] partial
  m.release(a);
  SeqBlocks x;
  ASSERT_TRUE(m.allocate(x, std::vector<int32_t>{9}, 2));  // takes the plain free block
  EXPECT_EQ(m.available_count(), 2u);
  EXPECT_EQ(m.blocks_needed(p, 5), 3u);  // 2 cached-free reused + 1 fresh
  SeqBlocks b;
  EXPECT_FALSE(m.allocate(b, p, 5));
  EXPECT_EQ(m.match_prefix(p), 4u);  // the failed attempt evicted nothing
  EXPECT_EQ(m.stats().evictions, 0u);
  m.release(x);
  ASSERT_TRUE(m.allocate(b, p, 5));
  EXPECT_EQ(b.num_cached_tokens, 4u);
  m.check_invariants();
}

// Collisions must cost hits at most: with every hash equal (hash_bits 0) the
// matches are the same as with full hashes.
TEST(BlockManager, HashCollisionsNeverShareWrongBlocks) {
  for (uint32_t bits : {64u, 1u, 0u}) {
    SCOPED_TRACE("hash_bits=" + std::to_string(bits));
    BlockManager m(opts(32, 2, true, bits));
    const std::vector<int32_t> a{1, 2, 3, 4, 9};
    SeqBlocks sa = run_prompt(m, a);
    const auto a_table = sa.table;
    m.release(sa);
    EXPECT_EQ(m.match_prefix(std::vector<int32_t>{5, 6, 3, 4, 9}), 0u);  // same 2nd block, other parent
    EXPECT_EQ(m.match_prefix(std::vector<int32_t>{1, 2, 3, 5, 9}), 2u);
    EXPECT_EQ(m.match_prefix(std::vector<int32_t>{1, 2, 3, 4, 8}), 4u);
    EXPECT_EQ(m.match_prefix(std::vector<int32_t>{2, 1, 3, 4, 9}), 0u);
    EXPECT_EQ(m.match_prefix(a, /*salt=*/1), 0u);  // another salt is another chain

    // Register the look-alikes too; each must still find exactly its own blocks.
    const std::vector<int32_t> x{5, 6, 3, 4, 9}, y{1, 2, 3, 5, 9};
    SeqBlocks sx = run_prompt(m, x), sy = run_prompt(m, y), sa1 = run_prompt(m, a, 1);
    EXPECT_EQ(sx.num_cached_tokens, 0u);
    EXPECT_EQ(sy.num_cached_tokens, 2u);
    EXPECT_EQ(sy.table[0], a_table[0]);
    EXPECT_EQ(sa1.num_cached_tokens, 0u);
    m.release(sx);
    m.release(sy);
    m.release(sa1);
    SeqBlocks again_x;
    ASSERT_TRUE(m.allocate(again_x, x, 5));
    EXPECT_EQ(again_x.num_cached_tokens, 4u);
    EXPECT_NE(again_x.table[1], a_table[1]);  // [3 4] after [5 6] is not [3 4] after [1 2]
    EXPECT_NE(again_x.table[0], a_table[0]);
    m.release(again_x);
    EXPECT_EQ(m.match_prefix(a), 4u);
    EXPECT_EQ(m.match_prefix(a, 1), 4u);
    EXPECT_EQ(m.cached_count(), 7u);  // [1 2] [1 2|3 4] [5 6] [5 6|3 4] [1 2|3 5] and salt 1's two
    m.check_invariants();
  }
}

TEST(BlockManager, ConcurrentEqualPrefixesAreDeduplicatedOnCommit) {
  BlockManager m(opts(8, 4));
  const std::vector<int32_t> t{1, 2, 3, 4, 5, 6, 7, 8, 9};
  SeqBlocks a, b;
  ASSERT_TRUE(m.allocate(a, t, 9));
  ASSERT_TRUE(m.allocate(b, t, 9));  // nothing cached yet: 3 fresh blocks each
  EXPECT_EQ(m.used_count(), 6u);
  m.commit_full_blocks(a, t, 9);
  m.commit_full_blocks(b, t, 9);
  EXPECT_EQ(m.stats().deduplicated_blocks, 2u);
  EXPECT_EQ(b.table[0], a.table[0]);
  EXPECT_EQ(b.table[1], a.table[1]);
  EXPECT_NE(b.table[2], a.table[2]);  // the partial blocks stay private
  EXPECT_EQ(m.refcount(a.table[0]), 2u);
  EXPECT_EQ(m.used_count(), 4u);
  EXPECT_EQ(b.block_hashes, a.block_hashes);
  m.check_invariants();
  m.release(a);
  m.release(b);
  EXPECT_EQ(m.cached_free_count(), 2u);
  EXPECT_EQ(m.free_count(), 6u);
}

// A session keeps its SeqBlocks between requests; other traffic (which evicts
// every cached-free block) must not disturb it, and it can grow later.
TEST(BlockManager, SessionKeepsItsBlocksAcrossOtherTraffic) {
  BlockManager m(opts(8, 4));
  std::vector<int32_t> session_tokens{1, 2, 3, 4, 5, 6};
  SeqBlocks session = run_prompt(m, session_tokens);  // 1 committed, 1 partial
  for (int round = 0; round < 5; ++round) {
    SeqBlocks other = run_prompt(m, random_tokens(20, round));  // 5 blocks, 5 committed
    m.release(other);
  }
  EXPECT_GT(m.stats().evictions, 0u);
  EXPECT_EQ(m.match_prefix(std::vector<int32_t>{1, 2, 3, 4, 0}), 4u);  // in use: never evicted
  // Next turn: the partial block is still private, so appending there is allowed.
  EXPECT_TRUE(m.writable(session, 6));
  for (int32_t t : {7, 8, 9, 10, 11}) session_tokens.push_back(t);
  ASSERT_TRUE(m.grow(session, 11));
  m.commit_full_blocks(session, session_tokens, 11);
  EXPECT_EQ(session.num_committed_blocks(), 2u);
  EXPECT_EQ(m.match_prefix(session_tokens), 8u);
  EXPECT_TRUE(m.writable(session, 11));
  EXPECT_FALSE(m.writable(session, 7));  // the second block is full and shared now
  m.release(session);
  m.check_invariants();
}

TEST(BlockManager, WithoutPrefixCachingNothingIsShared) {
  BlockManager m(opts(8, 2, false));
  const std::vector<int32_t> t{1, 2, 3, 4, 5};
  SeqBlocks a = run_prompt(m, t);
  EXPECT_EQ(m.cached_count(), 0u);
  m.release(a);
  EXPECT_EQ(m.match_prefix(t), 0u);
  EXPECT_EQ(m.free_count(), 8u);
  SeqBlocks b = run_prompt(m, t);
  EXPECT_EQ(b.num_cached_tokens, 0u);
  EXPECT_EQ(m.stats().prefix_queries, 0u);
  m.release(b);
}

}  // namespace
}  // namespace lmrt
