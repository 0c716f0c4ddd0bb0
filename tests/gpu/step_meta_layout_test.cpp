// The decode graphs' metadata layout (step_meta_layout.hpp): per bucket, every array where the graph's kernels
// read it, none overlapping, each within the buffer sized for the largest bucket. No GPU needed.
#include "step_meta_layout.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "decode_graph.hpp"

using namespace lmrt::tm;

TEST(StepMetaLayout, ABucketsArraysAreAlignedApartAndFitTheLargestBucketsBuffer) {
  for (uint32_t cap : {2u, 65u, 513u}) {
    const MetaLayout largest = graph_meta_layout(DecodeGraphs::kMaxBatch, cap);
    size_t previous = 0;
    for (uint32_t B = 1; B <= DecodeGraphs::kMaxBatch; B <<= 1) {
      const MetaLayout g = graph_meta_layout(B, cap);
      // (offset, bytes the kernels read) of each array, for B sequences and the padding sequence B.
      std::vector<std::pair<size_t, size_t>> arrays = {
          {g.tokens, B * 4},       {g.pos, B * 4},          {g.seq, B * 4},
          {g.table_offset, (B + 1) * 4},                    {g.seq_base, (B + 1) * 8},
          {g.last_rows, B * 4},    {g.rows, B * sizeof(SampleRow)},
          {g.penalties, sizeof(PenaltyEntry)},              {g.banned, 4},
          {g.groups, (B + 1) * 4}, {g.fed_rows, 4},           {g.tables, size_t(B + 1) * cap * 4}};
      std::sort(arrays.begin(), arrays.end());
      for (size_t k = 0; k < arrays.size(); ++k) {
        EXPECT_EQ(arrays[k].first % 16, 0u) << "bucket " << B << " cap " << cap;
        const size_t end = arrays[k].first + arrays[k].second;
        EXPECT_LE(end, k + 1 < arrays.size() ? arrays[k + 1].first : g.bytes) << "bucket " << B << " array " << k;
      }
      EXPECT_LE(g.bytes, largest.bytes) << "bucket " << B;
      EXPECT_GT(g.bytes, previous) << "bucket " << B;
      previous = g.bytes;
    }
    // What a batch-1 step uploads: a few hundred bytes beside its two block tables, not the largest bucket's arrays.
    EXPECT_LE(graph_meta_layout(1, cap).bytes, 256 + 2 * cap * 4) << cap;
  }
}
