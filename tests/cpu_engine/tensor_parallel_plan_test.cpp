// The sharding plan of lmrt/cpp/tensor_parallel.hpp: every head and column on
// exactly the ranks that need it, and clear errors for shapes it cannot split.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "lmrt/cpp/tensor_parallel.hpp"

namespace {

using lmrt::tp::ModelDims;
using lmrt::tp::Plan;
using lmrt::tp::plan_error;
using lmrt::tp::RankShard;

ModelDims dims(uint32_t heads, uint32_t kv_heads, uint32_t intermediate = 64) {
  return ModelDims{heads, kv_heads, 8, 32, intermediate};
}

// Ranges of consecutive ranks tile [0, total) in order, without gaps or overlaps.
void expect_tiles(const std::vector<RankShard>& shards, lmrt::tp::Range RankShard::*range, uint32_t total) {
  uint32_t next = 0;
  for (const RankShard& s : shards) {
    EXPECT_EQ((s.*range).begin, next) << "rank " << s.rank;
    EXPECT_GT((s.*range).size(), 0u) << "rank " << s.rank;
    next = (s.*range).end;
  }
  EXPECT_EQ(next, total);
}

TEST(TensorParallelPlan, SplitsHeadsKvHeadsAndColumnsExactlyOnce) {
  for (uint32_t n : {1u, 2u, 4u, 8u}) {
    const Plan plan(dims(32, 8, 11008), n);
    ASSERT_EQ(plan.num_ranks(), n);
    EXPECT_FALSE(plan.kv_replicated());
    const auto shards = plan.shards();
    ASSERT_EQ(shards.size(), n);
    expect_tiles(shards, &RankShard::q_heads, 32);
    expect_tiles(shards, &RankShard::kv_heads, 8);
    expect_tiles(shards, &RankShard::intermediate, 11008);
    EXPECT_EQ(plan.q_heads_per_rank(), 32 / n);
    EXPECT_EQ(plan.kv_heads_per_rank(), 8 / n);
    EXPECT_EQ(plan.intermediate_per_rank(), 11008 / n);
  }
}

TEST(TensorParallelPlan, EveryQueryHeadFindsItsKvHeadOnItsRank) {
  // The rank-local GQA layout (local q head h -> local KV head h / local group) must
  // name the same KV head as the full model (q head h -> KV head h / group).
  for (const ModelDims d : {dims(32, 8), dims(32, 4), dims(8, 2), dims(8, 1), dims(4, 4), dims(16, 2)})
    for (uint32_t n : {1u, 2u, 4u, 8u, 16u}) {
      if (!plan_error(d, n).empty()) continue;
      const Plan plan(d, n);
      const uint32_t group = d.num_heads / d.num_kv_heads;
      const uint32_t local_group = plan.q_heads_per_rank() / plan.kv_heads_per_rank();
      for (const RankShard& s : plan.shards()) {
        ASSERT_EQ(s.kv_heads.size(), plan.kv_heads_per_rank());
        for (uint32_t h = s.q_heads.begin; h < s.q_heads.end; ++h) {
          const uint32_t local_kv = (h - s.q_heads.begin) / local_group;
          EXPECT_EQ(s.kv_heads.begin + local_kv, h / group)
              << d.num_heads << "/" << d.num_kv_heads << " heads, tp " << n << ", rank " << s.rank << ", head " << h;
        }
      }
    }
}

TEST(TensorParallelPlan, ReplicatesKvHeadsWhenRanksExceedThem) {
  const Plan plan(dims(8, 2), 8);  // 4 ranks per KV head, one query head each
  EXPECT_TRUE(plan.kv_replicated());
  EXPECT_EQ(plan.kv_heads_per_rank(), 1u);
  EXPECT_EQ(plan.q_heads_per_rank(), 1u);
  const std::vector<uint32_t> want = {0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<uint32_t> holders(2, 0);
  for (const RankShard& s : plan.shards()) {
    EXPECT_EQ(s.kv_heads.begin, want[s.rank]) << "rank " << s.rank;
    EXPECT_EQ(s.kv_heads.size(), 1u);
    ++holders[s.kv_heads.begin];
  }
  EXPECT_EQ(holders, (std::vector<uint32_t>{4, 4}));

  const Plan mqa(dims(4, 1), 4);
  for (const RankShard& s : mqa.shards()) EXPECT_EQ(s.kv_heads.begin, 0u) << "MQA: every rank holds the one KV head";
  EXPECT_FALSE(Plan(dims(8, 2), 2).kv_replicated()) << "tp == num_kv_heads splits them";
}

void expect_error(const ModelDims& d, uint32_t n, const std::string& want) {
  const std::string e = plan_error(d, n);
  EXPECT_NE(e.find(want), std::string::npos) << "got '" << e << "', want '" << want << "'";
  try {
    Plan plan(d, n);
    ADD_FAILURE() << "Plan accepted tp " << n;
  } catch (const std::invalid_argument& ex) {
    EXPECT_EQ(std::string(ex.what()), e);
  }
}

TEST(TensorParallelPlan, RejectsShapesItCannotSplitNamingTheNumbers) {
  expect_error(dims(14, 2), 4, "tp 4 does not divide num_heads 14");
  expect_error(dims(24, 6), 4, "tp 4 does not divide num_kv_heads 6");
  expect_error(dims(24, 4), 6, "tp 6 exceeds num_kv_heads 4 but is not a multiple of it");
  expect_error(dims(8, 2, 44), 8, "tp 8 does not divide intermediate_size 44");
  expect_error(dims(8, 2), 0, "tp must be at least 1, got 0");
  expect_error(dims(6, 4), 2, "num_heads 6 is not a multiple of num_kv_heads 4");
  expect_error(ModelDims{8, 2, 0, 32, 64}, 2, "head_dim 0");
  EXPECT_EQ(plan_error(dims(8, 2), 1), "");
  EXPECT_THROW(Plan(dims(8, 2), 2).shard(2), std::out_of_range);
}

}  // namespace
