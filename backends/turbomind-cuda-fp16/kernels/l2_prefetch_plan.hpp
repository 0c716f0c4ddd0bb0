// Which bytes an L2Prefetch region asks for (kernels.hpp), piece by piece: shared by the kernels that issue it
// (l2_prefetch.cuh) and the host that plans it, and tested on the host (tests/gpu/l2_prefetch_plan_test.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels.hpp"

#if defined(__CUDACC__)
#define LMRT_TM_HOST_DEVICE __host__ __device__
#else
#define LMRT_TM_HOST_DEVICE
#endif

namespace lmrt::tm {

// The most one bulk prefetch asks for.
inline constexpr uint32_t kL2PrefetchPiece = 16 << 10;

// A region is cut into pieces: each slice of each row into pieces of at most kL2PrefetchPiece bytes.
LMRT_TM_HOST_DEVICE inline uint32_t l2_prefetch_pieces_a_slice(const L2Prefetch& r) {
  return (r.each + kL2PrefetchPiece - 1) / kL2PrefetchPiece;
}
LMRT_TM_HOST_DEVICE inline uint64_t l2_prefetch_pieces(const L2Prefetch& r) {
  if (!r.base || r.rows == 0 || r.slices == 0 || r.each == 0) return 0;
  return uint64_t(r.rows) * r.slices * l2_prefetch_pieces_a_slice(r);
}
// Piece j (< l2_prefetch_pieces): its offset from base and its bytes; false when it falls past its row's end
// (a last slice shorter than the others).
LMRT_TM_HOST_DEVICE inline bool l2_prefetch_piece(const L2Prefetch& r, uint64_t j, uint64_t& offset,
                                                  uint32_t& bytes) {
  const uint32_t per = l2_prefetch_pieces_a_slice(r);
  const uint64_t seg = j / per;
  const uint64_t row = seg / r.slices, slice = seg % r.slices;
  const uint64_t slice_start = slice * r.slice_bytes, start = slice_start + (j % per) * kL2PrefetchPiece;
  const uint64_t wanted = slice_start + r.each, end = wanted < r.row_bytes ? wanted : r.row_bytes;
  if (start >= end) return false;
  offset = row * r.row_bytes + start;
  bytes = static_cast<uint32_t>(end - start < kL2PrefetchPiece ? end - start : kL2PrefetchPiece);
  return true;
}

// The first `fraction` (0 to 1) of each of the `splits` K slices of every row of an N x K matrix of 2-byte
// elements, in whole `round_bytes` (what a warp reads of a slice in one round); all of it for 1, none for 0.
// Slices are ceil(K / 8 / splits) 16-byte pieces long, the last one cut at the row's end.
inline L2Prefetch l2_prefetch_slices(const void* w, int n, int k, int splits, double fraction, int round_bytes) {
  if (!w || n <= 0 || k <= 0 || k % 8 != 0 || splits <= 0 || round_bytes <= 0 || round_bytes % 16 != 0 ||
      !(fraction > 0))
    return {};
  const int pieces = k / 8, slice_len = (pieces + splits - 1) / splits, round = round_bytes / 16;
  const int rounds = (slice_len + round - 1) / round;
  const int take = std::min(rounds, static_cast<int>(std::ceil(std::min(fraction, 1.0) * rounds)));
  L2Prefetch r;
  r.base = w, r.row_bytes = static_cast<size_t>(k) * 2;
  r.rows = static_cast<uint32_t>(n), r.slices = static_cast<uint32_t>(splits);
  r.slice_bytes = static_cast<uint32_t>(slice_len) * 16;
  r.each = static_cast<uint32_t>(std::min(take * round, slice_len)) * 16;
  return r;
}

// The bytes a region asks for.
inline size_t l2_prefetch_bytes(const L2Prefetch& r) {
  if (!r.base) return 0;
  size_t row = 0;
  for (uint32_t s = 0; s < r.slices; ++s) {
    const size_t start = size_t(s) * r.slice_bytes;
    if (start < r.row_bytes) row += std::min<size_t>(r.each, r.row_bytes - start);
  }
  return row * r.rows;
}

}  // namespace lmrt::tm
