// Randomized operation sequences (allocate / grow / compute+commit / release, with
// sessions that idle and resume) against the reference model, with token streams
// from a tiny alphabet so prefixes collide all the time. A fake KV pool records,
// for every slot the "engine" writes, which prefix it was computed for; every read
// of a sequence's context checks that its block table names KV computed for
// exactly its own prefix, so wrong sharing, writes into shared blocks and reuse of
// blocks that were not recomputed all fail here.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lmrt/core/block_manager.hpp"
#include "reference_block_model.hpp"

namespace lmrt {
namespace {

using test::ReferenceBlockModel;

struct RandomCase {
  uint32_t num_blocks;
  uint32_t block_seq_len;
  bool prefix_caching;
  uint32_t hash_bits;  // < 64 forces hash collisions
  int32_t alphabet;
};

std::string name_of(const RandomCase& c) {
  return "blocks" + std::to_string(c.num_blocks) + "_B" + std::to_string(c.block_seq_len) +
         (c.prefix_caching ? "_cache" : "_nocache") + "_bits" + std::to_string(c.hash_bits) + "_a" +
         std::to_string(c.alphabet);
}

// The engine's KV pool as the test sees it: slot -> id of the prefix it holds.
class FakeKvPool {
 public:
  FakeKvPool(uint32_t num_blocks, uint32_t B) : B_(B), slots_(size_t{num_blocks} * B, -1) {}

  // The identity of the KV at position pos: the salt and every token up to pos.
  int prefix_id(uint64_t salt, const std::vector<int32_t>& tokens, uint32_t pos) {
    std::vector<int32_t> key{static_cast<int32_t>(salt)};
    key.insert(key.end(), tokens.begin(), tokens.begin() + pos + 1);
    return ids_.try_emplace(std::move(key), static_cast<int>(ids_.size())).first->second;
  }
  int& slot(const std::vector<int32_t>& table, uint32_t pos) {
    return slots_.at(size_t(table.at(pos / B_)) * B_ + pos % B_);
  }

 private:
  uint32_t B_;
  std::vector<int> slots_;
  std::map<std::vector<int32_t>, int> ids_;
};

struct LiveSeq {
  SeqBlocks blocks;
  ReferenceBlockModel::Seq model;
  std::vector<int32_t> tokens;
  uint32_t computed = 0;  // positions whose KV the fake engine wrote
};

// What a run exercised, so that a test that never reached a case cannot pass.
struct Coverage {
  uint64_t hit_tokens = 0, evictions = 0, dedups = 0, failed_allocations = 0, preemptions = 0;
};

class RandomRun {
 public:
  RandomRun(const RandomCase& c, uint32_t seed)
      : c_(c),
        rng_(seed),
        mgr_(BlockManagerOptions{c.num_blocks, c.block_seq_len, c.prefix_caching, c.hash_bits}),
        model_(c.num_blocks, c.block_seq_len, c.prefix_caching),
        kv_(c.num_blocks, c.block_seq_len) {}

  void run(int steps) {
    for (int i = 0; i < steps && !::testing::Test::HasFailure(); ++i) {
      const int op = pick(0, 99);
      if (op < 35 || live_.empty()) {
        if (live_.size() < 6) new_seq();
      } else if (op < 82) {
        compute(pick(0, int(live_.size()) - 1));
      } else {
        release(pick(0, int(live_.size()) - 1));
      }
      check_all();
    }
    while (!live_.empty() && !::testing::Test::HasFailure()) {
      release(0);
      check_all();
    }
    EXPECT_EQ(mgr_.used_count(), 0u);
    EXPECT_EQ(mgr_.free_count() + mgr_.cached_free_count(), mgr_.total());
    coverage_.hit_tokens += mgr_.stats().prefix_hit_tokens;
    coverage_.evictions += mgr_.stats().evictions;
    coverage_.dedups += mgr_.stats().deduplicated_blocks;
  }

  const Coverage& coverage() const { return coverage_; }

 private:
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  int32_t token() { return pick(0, c_.alphabet - 1); }

  void new_seq() {
    std::vector<int32_t> tokens;
    if (!history_.empty() && pick(0, 2) > 0) {
      // Share a prefix of an earlier stream (often the whole of it).
      const auto& base = history_[pick(0, int(history_.size()) - 1)];
      tokens.assign(base.begin(), base.begin() + pick(int(base.size()) / 2, int(base.size())));
    }
    for (int n = pick(1, 24); n > 0; --n) tokens.push_back(token());
    const uint64_t salt = pick(0, 4) == 0 ? 1 : 0;
    uint32_t positions = static_cast<uint32_t>(tokens.size());
    if (pick(0, 2) == 0) positions = pick(1, int(tokens.size()));        // first prefill chunk
    else if (pick(0, 2) == 0) positions += pick(1, 2 * c_.block_seq_len); // decode reserve

    const uint32_t B = c_.block_seq_len;
    ASSERT_EQ(mgr_.match_prefix(tokens, salt), model_.match_blocks(tokens, salt) * B);
    ASSERT_EQ(mgr_.blocks_needed(tokens, positions, salt), model_.needed(tokens, positions, salt));
    const bool can = mgr_.can_allocate(tokens, positions, salt);

    LiveSeq s;
    const auto model_seq = model_.allocate(tokens, positions, salt);
    const bool ok = mgr_.allocate(s.blocks, tokens, positions, salt);
    ASSERT_EQ(ok, model_seq.has_value());
    ASSERT_EQ(ok, can);
    history_.push_back(tokens);
    if (!ok) {
      coverage_.failed_allocations += 1;
      ASSERT_TRUE(s.blocks.empty());
      return;
    }
    s.model = *model_seq;
    s.tokens = std::move(tokens);
    s.computed = s.blocks.num_cached_tokens;
    ASSERT_EQ(s.computed, s.model.committed * B);
    check_context(s);
    live_.push_back(std::move(s));
  }

  // One engine step for sequence i: a prefill chunk, or a decode token.
  void compute(int i) {
    LiveSeq& s = live_[i];
    if (s.computed == s.tokens.size()) s.tokens.push_back(token());  // the token sampled last step
    const uint32_t target = s.computed + pick(1, int(s.tokens.size() - s.computed));
    const bool grown = model_.grow(s.model, target);
    ASSERT_EQ(mgr_.grow(s.blocks, target), grown);
    if (!grown) {  // out of blocks: preempt it, as the scheduler would
      coverage_.preemptions += 1;
      release(i);
      return;
    }
    check_context(s);
    ASSERT_TRUE(mgr_.writable(s.blocks, s.computed));
    const auto uses = uses_per_block();
    for (uint32_t p = s.computed; p < target; ++p) {
      const int32_t b = s.blocks.table[p / c_.block_seq_len];
      ASSERT_EQ(uses.at(b), 1) << "writing position " << p << " into block " << b << " that others use";
      kv_.slot(s.blocks.table, p) = kv_.prefix_id(s.blocks.salt, s.tokens, p);
    }
    s.computed = target;
    model_.commit(s.model, s.tokens, s.computed);
    mgr_.commit_full_blocks(s.blocks, s.tokens, s.computed);
    check_context(s);  // commit may have swapped in equal blocks
  }

  void release(int i) {
    model_.release(live_[i].model, live_[i].tokens);
    mgr_.release(live_[i].blocks);
    ASSERT_TRUE(live_[i].blocks.empty());
    live_.erase(live_.begin() + i);
  }

  // What attention reads: every computed position must hold this prefix's KV.
  void check_context(LiveSeq& s) {
    for (uint32_t p = 0; p < s.computed; ++p)
      ASSERT_EQ(kv_.slot(s.blocks.table, p), kv_.prefix_id(s.blocks.salt, s.tokens, p))
          << "position " << p << " of a sequence reads KV computed for another prefix";
  }

  std::map<int32_t, int> uses_per_block() const {
    std::map<int32_t, int> uses;
    for (const auto& s : live_)
      for (int32_t b : s.blocks.table) uses[b] += 1;
    return uses;
  }

  void check_all() {
    ASSERT_NO_THROW(mgr_.check_invariants());
    ASSERT_EQ(mgr_.used_count(), model_.used());
    ASSERT_EQ(mgr_.cached_free_count(), model_.cached_free());
    ASSERT_EQ(mgr_.free_count(), model_.free());
    ASSERT_EQ(mgr_.cached_count(), model_.cached());
    ASSERT_EQ(mgr_.stats().evictions, model_.evictions());
    ASSERT_EQ(mgr_.stats().deduplicated_blocks, model_.dedups());
    ASSERT_EQ(mgr_.stats().prefix_query_tokens, model_.query_tokens());
    ASSERT_EQ(mgr_.stats().prefix_hit_tokens, model_.hit_tokens());

    // Sum of refcounts = table entries over live sequences, block by block.
    const auto uses = uses_per_block();
    for (uint32_t b = 0; b < mgr_.total(); ++b) {
      auto it = uses.find(static_cast<int32_t>(b));
      ASSERT_EQ(mgr_.refcount(static_cast<int32_t>(b)), it == uses.end() ? 0u : uint32_t(it->second)) << "block " << b;
    }
    for (const auto& s : live_) {
      ASSERT_EQ(s.blocks.table.size(), s.model.table_size);
      ASSERT_EQ(s.blocks.num_committed_blocks(), s.model.committed);
      for (uint32_t j = 0; j < s.blocks.table.size(); ++j) {
        const int32_t b = s.blocks.table[j];
        if (j < s.model.committed) {
          ASSERT_TRUE(mgr_.is_cached(b));
          ASSERT_EQ(mgr_.refcount(b), uint32_t(model_.users(s.model.salt, s.tokens, j)));
        } else {
          ASSERT_FALSE(mgr_.is_cached(b));
          ASSERT_EQ(mgr_.refcount(b), 1u);
        }
      }
      ASSERT_TRUE(mgr_.writable(s.blocks, s.computed));
    }
  }

  RandomCase c_;
  std::mt19937 rng_;
  BlockManager mgr_;
  ReferenceBlockModel model_;
  FakeKvPool kv_;
  std::vector<LiveSeq> live_;
  std::vector<std::vector<int32_t>> history_;
  Coverage coverage_;
};

class BlockManagerRandomTest : public ::testing::TestWithParam<RandomCase> {};

TEST_P(BlockManagerRandomTest, MatchesReferenceModel) {
  Coverage all;
  for (uint32_t seed = 1; seed <= 12 && !HasFailure(); ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomRun run(GetParam(), seed);
    run.run(1500);
    all.hit_tokens += run.coverage().hit_tokens;
    all.evictions += run.coverage().evictions;
    all.dedups += run.coverage().dedups;
    all.failed_allocations += run.coverage().failed_allocations;
    all.preemptions += run.coverage().preemptions;
  }
  EXPECT_GT(all.failed_allocations + all.preemptions + all.evictions, 0u);  // the pool ran full
  if (GetParam().prefix_caching) {
    EXPECT_GT(all.hit_tokens, 0u);
    EXPECT_GT(all.evictions, 0u);
    EXPECT_GT(all.dedups, 0u);
  }
  std::printf("coverage: hit_tokens %lu evictions %lu dedups %lu failed_allocations %lu preemptions %lu\n",
              (unsigned long)all.hit_tokens, (unsigned long)all.evictions, (unsigned long)all.dedups,
              (unsigned long)all.failed_allocations, (unsigned long)all.preemptions);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BlockManagerRandomTest,
    ::testing::Values(RandomCase{8, 4, true, 64, 2}, RandomCase{24, 4, true, 64, 2}, RandomCase{64, 2, true, 64, 3},
                      RandomCase{16, 1, true, 64, 2}, RandomCase{48, 8, true, 64, 2},
                      // Forced collisions: 2 bits, and every hash equal. Behaviour must not change.
                      RandomCase{24, 4, true, 2, 2}, RandomCase{24, 2, true, 0, 2}, RandomCase{64, 3, true, 0, 3},
                      RandomCase{24, 4, false, 64, 2}, RandomCase{8, 2, false, 64, 2}),
    [](const auto& info) { return name_of(info.param); });

}  // namespace
}  // namespace lmrt
