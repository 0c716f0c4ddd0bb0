// Paged attention for prefill and decode tokens alike (causal, GQA).
//
// One block of 4 warps per (group of up to G consecutive tokens of one sequence, query head). Each token attends
// to positions [0, pos] of its sequence, read through the block table. Warp w takes key tiles w, w+4, w+8, ... of
// 32 keys: each lane loads one key of the tile once and scores it against every token of the group, the warp
// updates each token's online softmax, and each lane accumulates head_dim/32 output dimensions of each token
// from V rows it also loads once for the group. The four warps merge in shared memory at the end.
//
// A group shares the K/V reads of its tokens (prefill reads the cache G times less); the arithmetic of each token
// is the same sequence of operations whatever its group, so G = 1 and G = 8 give bit-identical results, and the
// order of every floating-point operation depends only on the token's own position and its sequence's KV, never
// on the rest of the batch: the kernel is batch invariant.
#include "../common.cuh"

namespace lmrt::tm {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 256;

template <class T>
__device__ __forceinline__ const T* kv_row(const KvLayout& kv, int block, int layer, int is_v, int g, int slot) {
  const size_t base =
      ((((size_t(block) * kv.num_layers + layer) * 2 + is_v) * kv.num_kv_heads + g) * kv.block_seq_len + slot) *
      kv.head_dim;
  return static_cast<const T*>(kv.data) + base;
}

template <class T, int DPL, int G>
__global__ void __launch_bounds__(kWarps * 32)
    paged_attention_kernel(const T* qkv, int num_heads, TokenLayout tokens, const int32_t* group_first, KvLayout kv,
                           int layer, float scale, T* out) {
  __shared__ float q_s[G][kMaxHeadDim];
  __shared__ float m_s[kWarps], l_s[kWarps];
  __shared__ float acc_s[kWarps][kMaxHeadDim];
  const int t0 = group_first[blockIdx.x], cnt = group_first[blockIdx.x + 1] - t0;  // 1..G tokens
  const int h = blockIdx.y;
  const int hd = kv.head_dim, kvh = kv.num_kv_heads;
  const int g = h / (num_heads / kvh);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const size_t row = static_cast<size_t>(num_heads + 2 * kvh) * hd;
  for (int i = threadIdx.x; i < cnt * hd; i += blockDim.x) {
    const int qi = i / hd, d = i - qi * hd;
    q_s[qi][d] = to_f(qkv[static_cast<size_t>(t0 + qi) * row + size_t(h) * hd + d]) * scale;
  }
  __syncthreads();

  // The tokens of a group belong to one sequence: one block table.
  const int* table = tokens.block_tables + tokens.table_offset[tokens.token_seq[t0]];
  const int B = kv.block_seq_len;
  const bool vec = (hd & 7) == 0;
  int n[G];
  int n_max = 0;
  float m[G], l[G], p[G], acc[G][DPL];
#pragma unroll
  for (int qi = 0; qi < G; ++qi) {
    n[qi] = qi < cnt ? tokens.token_pos[t0 + qi] + 1 : 0;
    n_max = max(n_max, n[qi]);
    m[qi] = -INFINITY, l[qi] = 0.f, p[qi] = 0.f;
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[qi][i] = 0.f;
  }

  for (int tile = warp * 32; tile < n_max; tile += kWarps * 32) {
    const int j = tile + lane;
    float dot[G];
#pragma unroll
    for (int qi = 0; qi < G; ++qi) dot[qi] = 0.f;
    if (j < n_max) {
      const T* k = kv_row<T>(kv, table[j / B], layer, 0, g, j % B);
      if (vec) {
        for (int d = 0; d < hd; d += 8) {
          float kf[8];
          load8(k + d, kf);
#pragma unroll
          for (int qi = 0; qi < G; ++qi)
#pragma unroll
            for (int e = 0; e < 8; ++e) dot[qi] += q_s[qi][d + e] * kf[e];
        }
      } else {
        for (int d = 0; d < hd; ++d) {
          const float kd = to_f(k[d]);
#pragma unroll
          for (int qi = 0; qi < G; ++qi) dot[qi] += q_s[qi][d] * kd;
        }
      }
    }
    int count_max = 0;  // keys of this tile that some token of the group sees
#pragma unroll
    for (int qi = 0; qi < G; ++qi) {
      if (tile >= n[qi]) continue;  // uniform across the warp: the token's keys end before this tile
      const float s = j < n[qi] ? dot[qi] : -INFINITY;
      const float m_new = fmaxf(m[qi], warp_max(s));
      const float corr = m[qi] == -INFINITY ? 0.f : expf(m[qi] - m_new);
      p[qi] = j < n[qi] ? expf(s - m_new) : 0.f;
      l[qi] = l[qi] * corr + warp_sum(p[qi]);
#pragma unroll
      for (int i = 0; i < DPL; ++i) acc[qi][i] *= corr;
      m[qi] = m_new;
      count_max = max(count_max, min(32, n[qi] - tile));
    }
    for (int jj = 0; jj < count_max; ++jj) {
      const int key = tile + jj;
      const T* v = kv_row<T>(kv, table[key / B], layer, 1, g, key % B);
      float vf[DPL];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        vf[i] = d < hd ? to_f(v[d]) : 0.f;
      }
#pragma unroll
      for (int qi = 0; qi < G; ++qi) {
        if (tile >= n[qi] || jj >= n[qi] - tile) continue;  // uniform: this key is past the token
        const float pj = __shfl_sync(0xffffffffu, p[qi], jj);
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          const int d = lane + 32 * i;
          if (d < hd) acc[qi][i] += pj * vf[i];
        }
      }
    }
  }

#pragma unroll
  for (int qi = 0; qi < G; ++qi) {
    if (qi >= cnt) break;
    if (lane == 0) m_s[warp] = m[qi], l_s[warp] = l[qi];
#pragma unroll
    for (int i = 0; i < DPL; ++i) {
      const int d = lane + 32 * i;
      if (d < hd) acc_s[warp][d] = acc[qi][i];
    }
    __syncthreads();
    float m_all = -INFINITY;
    for (int w = 0; w < kWarps; ++w) m_all = fmaxf(m_all, m_s[w]);
    float l_all = 0.f, f[kWarps];
    for (int w = 0; w < kWarps; ++w) {
      f[w] = m_s[w] == -INFINITY ? 0.f : expf(m_s[w] - m_all);
      l_all += l_s[w] * f[w];
    }
    const float inv = 1.f / l_all;
    T* o = out + static_cast<size_t>(t0 + qi) * num_heads * hd + size_t(h) * hd;
    for (int d = threadIdx.x; d < hd; d += blockDim.x) {
      float v = 0.f;
      for (int w = 0; w < kWarps; ++w) v += acc_s[w][d] * f[w];
      o[d] = from_f<T>(v * inv);
    }
    __syncthreads();  // acc_s and m_s are the next token's
  }
}

template <class T, int G>
void launch_grouped(const T* qkv, int num_groups, int num_heads, const TokenLayout& tokens, const int32_t* group_first,
                    const KvLayout& kv, int layer, T* out, cudaStream_t stream) {
  const dim3 grid(num_groups, num_heads);
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(kv.head_dim)));
  const int hd = kv.head_dim;
  if (hd <= 32)
    paged_attention_kernel<T, 1, G><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, group_first, kv, layer, scale, out);
  else if (hd <= 64)
    paged_attention_kernel<T, 2, G><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, group_first, kv, layer, scale, out);
  else if (hd <= 128)
    paged_attention_kernel<T, 4, G><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, group_first, kv, layer, scale, out);
  else
    paged_attention_kernel<T, 8, G><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, group_first, kv, layer, scale, out);
}

}  // namespace

void launch_paged_attention(DType dt, const void* qkv, int num_groups, int max_group, int num_heads,
                            const TokenLayout& tokens, const int32_t* group_first, const KvLayout& kv, int layer,
                            void* out, cudaStream_t stream) {
  if (num_groups <= 0) return;
  LMRT_DISPATCH_DTYPE(dt, T, {
    const T* q = static_cast<const T*>(qkv);
    T* o = static_cast<T*>(out);
    if (max_group <= 1)
      launch_grouped<T, 1>(q, num_groups, num_heads, tokens, group_first, kv, layer, o, stream);
    else
      launch_grouped<T, kMaxAttentionGroup>(q, num_groups, num_heads, tokens, group_first, kv, layer, o, stream);
  });
}

}  // namespace lmrt::tm
