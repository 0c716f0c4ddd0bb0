// One rotate-half pair of a token's q|k|v row, after the GEMM that produced it: the q/k/v bias, the rotation of q
// and k heads, and the stores (q back into the row, k and v into the paged KV pool). The RoPE kernel and the skinny
// GEMM's RoPE output both call it, so a token gets the same bits from either; its roundings are explicit, so that
// neither calling context can contract them into other FMAs.
#pragma once

#include "../common.cuh"

namespace lmrt::tm {

// Elements i and i + head_dim / 2 of head h (q heads, then k, then v), a and b as the GEMM stored them (rounded to
// T, widened); cos_row and sin_row are the token's table rows; `block` and `slot` are where its position lives.
template <class T>
__device__ __forceinline__ void rope_store_pair(float a, float b, const T* bias, int h, int i, const float* cos_row,
                                                const float* sin_row, T* row, int num_heads, const KvLayout& kv,
                                                int layer, int block, int slot) {
  const int hd = kv.head_dim, half = hd / 2, kvh = kv.num_kv_heads;
  const int e0 = h * hd + i, e1 = e0 + half;
  if (bias) a = __fadd_rn(a, to_f(bias[e0])), b = __fadd_rn(b, to_f(bias[e1]));
  if (h < num_heads + kvh) {  // q and k rotate
    const float c = cos_row[i], s = sin_row[i];
    const float ra = __fsub_rn(__fmul_rn(a, c), __fmul_rn(b, s)), rb = __fadd_rn(__fmul_rn(b, c), __fmul_rn(a, s));
    a = ra, b = rb;
  }
  if (h < num_heads) {
    row[e0] = from_f<T>(a), row[e1] = from_f<T>(b);
    return;
  }
  const int is_v = h >= num_heads + kvh;
  T* dst = kv_slot<T>(kv, block, layer, is_v, h - num_heads - is_v * kvh, slot);
  dst[i] = from_f<T>(a), dst[i + half] = from_f<T>(b);
}

// The KV block and slot of token t's position.
__device__ __forceinline__ void kv_place(const TokenLayout& tokens, const KvLayout& kv, int t, int& block, int& slot) {
  const int pos = tokens.token_pos[t];
  block = tokens.block_tables[tokens.table_offset[tokens.token_seq[t]] + pos / kv.block_seq_len];
  slot = pos % kv.block_seq_len;
}

}  // namespace lmrt::tm
