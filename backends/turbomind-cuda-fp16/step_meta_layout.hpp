// Where each array of a step's metadata lies in its device buffer: the eager steps' packed copy, or a decode
// graph's, laid out for its bucket so that a step uploads its bucket's bytes only (with kMaxBatch-sized arrays a
// 32768-token session's block tables made every batch-1 step copy 552 KB).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/sampling/sampling.hpp"

namespace lmrt::tm {

struct MetaLayout {
  size_t tokens, pos, seq, table_offset, tables, seq_base, last_rows, rows, penalties, banned, groups, bytes;
  size_t fed_rows;  // graphs only: how many of the rows take their token from the previous step's samples
};

// A decode graph's metadata for `bucket` sequences and the padding sequence after them (index `bucket` at most),
// each block table `table_cap` entries long; every array 16-byte aligned.
inline MetaLayout graph_meta_layout(uint32_t bucket, uint32_t table_cap) {
  const size_t B = bucket;
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t at = off;
    off = (off + bytes + 15) / 16 * 16;
    return at;
  };
  MetaLayout g{};
  g.tokens = take(B * 4), g.pos = take(B * 4), g.seq = take(B * 4), g.table_offset = take((B + 1) * 4);
  g.seq_base = take((B + 1) * 8), g.last_rows = take(B * 4), g.rows = take(B * sizeof(SampleRow));
  g.penalties = take(sizeof(PenaltyEntry)), g.banned = take(4), g.groups = take((B + 1) * 4), g.fed_rows = take(4);
  g.tables = take((B + 1) * table_cap * 4), g.bytes = off;
  return g;
}

}  // namespace lmrt::tm
