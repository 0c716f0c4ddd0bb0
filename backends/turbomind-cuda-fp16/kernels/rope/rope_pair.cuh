// One rotate-half pair of a token's q|k|v row, after the GEMM that produced it: the q/k/v bias, the rotation of q
// and k heads, and the stores (q back into the row, k and v into the paged KV pool). The RoPE kernel and the skinny
// GEMM's RoPE output both call it, so a token gets the same bits from either; its roundings are explicit, so that
// neither calling context can contract them into other FMAs.
#pragma once

#include "../common.cuh"

namespace lmrt::tm {

// What pair i of head h adds and rotates by (its bias elements, the token's table rows' entries), read apart from
// the stores so that a caller can load it early.
struct RopePairInputs {
  bool has_bias = false;
  float bias0 = 0.f, bias1 = 0.f;  // the pair's bias elements
  float c = 1.f, s = 0.f;          // the rotation (q and k heads only)
};
template <class T>
__device__ __forceinline__ RopePairInputs rope_pair_inputs(const T* bias, int h, int i, const float* cos_row,
                                                           const float* sin_row, int num_heads, const KvLayout& kv) {
  RopePairInputs in;
  const int e0 = h * kv.head_dim + i;
  if (bias) in.has_bias = true, in.bias0 = to_f(bias[e0]), in.bias1 = to_f(bias[e0 + kv.head_dim / 2]);
  if (h < num_heads + kv.num_kv_heads) in.c = cos_row[i], in.s = sin_row[i];
  return in;
}

// Elements i and i + head_dim / 2 of head h (q heads, then k, then v), a and b as the GEMM stored them (rounded to
// T, widened); `in` from rope_pair_inputs with the token's table rows; `block` and `slot` are where its position
// lives.
template <class T>
__device__ __forceinline__ void rope_store_pair(float a, float b, const RopePairInputs& in, int h, int i, T* row,
                                                int num_heads, const KvLayout& kv, int layer, int block, int slot) {
  const int hd = kv.head_dim, half = hd / 2, kvh = kv.num_kv_heads;
  const int e0 = h * hd + i, e1 = e0 + half;
  if (in.has_bias) a = __fadd_rn(a, in.bias0), b = __fadd_rn(b, in.bias1);
  if (h < num_heads + kvh) {  // q and k rotate
    const float c = in.c, s = in.s;
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
