// The L2 prefetch plan (kernels/l2_prefetch_plan.hpp): the pieces that the kernels' blocks issue, share by share,
// ask for each planned byte of the matrix once and nothing else, in pieces a bulk prefetch takes. No GPU needed.
#include "kernels/l2_prefetch_plan.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace lmrt::tm;

namespace {

// How often each byte of an n x k matrix of 2-byte elements is asked for, over `parts` shares (as blocks
// blockIdx.x of gridDim.x = parts take them), checking every piece's alignment and size on the way.
std::vector<int> asked(const L2Prefetch& r, size_t matrix_bytes, unsigned parts) {
  std::vector<int> count(matrix_bytes, 0);
  const uint64_t total = l2_prefetch_pieces(r);
  for (unsigned part = 0; part < parts; ++part)
    for (uint64_t j = total * part / parts; j < total * (part + 1) / parts; ++j) {
      uint64_t offset = 0;
      uint32_t bytes = 0;
      if (!l2_prefetch_piece(r, j, offset, bytes)) continue;
      EXPECT_EQ(offset % 16, 0u);
      EXPECT_EQ(bytes % 16, 0u);
      EXPECT_GT(bytes, 0u);
      EXPECT_LE(bytes, kL2PrefetchPiece);
      EXPECT_LE(offset + bytes, matrix_bytes) << "piece " << j;
      for (uint64_t b = offset; b < offset + bytes && b < matrix_bytes; ++b) ++count[b];
    }
  return count;
}

}  // namespace

// All of the matrix, whatever the slices and shares: every byte once.
TEST(L2PrefetchPlan, AFractionOfOneAsksForEveryByteOnce) {
  const char base = 0;  // only an address: nothing is read
  for (int k : {8, 3000, 16384, 20488})
    for (int splits : {1, 2, 3, 8})
      for (unsigned parts : {1u, 7u, 264u}) {
        const int n = 5;
        const size_t bytes = size_t(n) * k * 2;
        for (double f : {1.0, 2.5}) {
          const L2Prefetch r = l2_prefetch_slices(&base, n, k, splits, f, 2048);
          EXPECT_EQ(l2_prefetch_bytes(r), bytes) << k << " " << splits;
          const std::vector<int> count = asked(r, bytes, parts);
          size_t once = 0;
          for (int c : count) once += c == 1;
          EXPECT_EQ(once, bytes) << "k " << k << " splits " << splits << " parts " << parts << " f " << f;
        }
      }
}

// A share of each slice: its first ceil(f x rounds) rounds of `round` bytes (all of a slice shorter than that),
// each byte once, nothing else.
TEST(L2PrefetchPlan, AFractionAsksForTheFirstRoundsOfEverySlice) {
  const char base = 0;
  const int round = 2048;
  for (int k : {3000, 16384, 20488})
    for (int splits : {1, 2, 3})
      for (double f : {0.01, 0.3, 0.5, 0.99}) {
        const int n = 3;
        const size_t row = size_t(k) * 2, bytes = n * row;
        const L2Prefetch r = l2_prefetch_slices(&base, n, k, splits, f, round);
        const size_t slice = (size_t(k) / 8 + splits - 1) / splits * 16;
        const size_t rounds = (slice + round - 1) / round;
        const size_t take = std::min<size_t>(slice, size_t(std::ceil(f * rounds)) * round);
        std::vector<int> want(bytes, 0);
        size_t want_bytes = 0;
        for (int i = 0; i < n; ++i)
          for (int s = 0; s < splits; ++s)
            for (size_t b = s * slice; b < std::min(row, s * slice + take); ++b) want[i * row + b] = 1, ++want_bytes;
        EXPECT_EQ(asked(r, bytes, 13), want) << "k " << k << " splits " << splits << " f " << f;
        EXPECT_EQ(l2_prefetch_bytes(r), want_bytes) << "k " << k << " splits " << splits << " f " << f;
      }
}

TEST(L2PrefetchPlan, NothingForAFractionOfZeroOrAShapeItCannotCut) {
  const char base = 0;
  for (const L2Prefetch& r : {l2_prefetch_slices(&base, 4, 64, 1, 0.0, 2048),
                              l2_prefetch_slices(&base, 4, 64, 1, -1.0, 2048),
                              l2_prefetch_slices(&base, 4, 63, 1, 1.0, 2048),
                              l2_prefetch_slices(nullptr, 4, 64, 1, 1.0, 2048),
                              l2_prefetch_slices(&base, 0, 64, 1, 1.0, 2048)}) {
    EXPECT_EQ(l2_prefetch_pieces(r), 0u);
    EXPECT_EQ(l2_prefetch_bytes(r), 0u);
  }
}
