// Paged attention for prefill and decode tokens alike (causal, GQA).
//
// One block of 4 warps per (token, query head). The token attends to positions [0, pos] of its
// sequence, read through the block table. Warp w takes key tiles w, w+4, w+8, ... of 32 keys:
// each lane scores one key of the tile, the warp updates an online softmax, and each lane
// accumulates head_dim/32 output dimensions. The four warps merge in shared memory at the end.
// The order of every floating-point operation depends only on the token's own position and its
// sequence's KV, never on the rest of the batch: the kernel is batch invariant.
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

template <class T, int DPL>
__global__ void __launch_bounds__(kWarps * 32) paged_attention_kernel(const T* qkv, int num_heads, TokenLayout tokens,
                                                                      KvLayout kv, int layer, float scale, T* out) {
  __shared__ float q_s[kMaxHeadDim];
  __shared__ float m_s[kWarps], l_s[kWarps];
  __shared__ float acc_s[kWarps][kMaxHeadDim];
  const int t = blockIdx.x, h = blockIdx.y;
  const int hd = kv.head_dim, kvh = kv.num_kv_heads;
  const int g = h / (num_heads / kvh);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const T* q = qkv + static_cast<size_t>(t) * (num_heads + 2 * kvh) * hd + size_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) q_s[d] = to_f(q[d]) * scale;
  __syncthreads();

  const int pos = tokens.token_pos[t];
  const int* table = tokens.block_tables + tokens.table_offset[tokens.token_seq[t]];
  const int B = kv.block_seq_len;
  const int n = pos + 1;
  const bool vec = (hd & 7) == 0;
  float m = -INFINITY, l = 0.f;
  float acc[DPL];
#pragma unroll
  for (int i = 0; i < DPL; ++i) acc[i] = 0.f;

  for (int tile = warp * 32; tile < n; tile += kWarps * 32) {
    const int j = tile + lane;
    float s = -INFINITY;
    if (j < n) {
      const T* k = kv_row<T>(kv, table[j / B], layer, 0, g, j % B);
      float dot = 0.f;
      if (vec) {
        for (int d = 0; d < hd; d += 8) {
          float kf[8];
          load8(k + d, kf);
#pragma unroll
          for (int e = 0; e < 8; ++e) dot += q_s[d + e] * kf[e];
        }
      } else {
        for (int d = 0; d < hd; ++d) dot += q_s[d] * to_f(k[d]);
      }
      s = dot;
    }
    const float m_new = fmaxf(m, warp_max(s));
    const float corr = m == -INFINITY ? 0.f : expf(m - m_new);
    const float p = j < n ? expf(s - m_new) : 0.f;
    l = l * corr + warp_sum(p);
#pragma unroll
    for (int i = 0; i < DPL; ++i) acc[i] *= corr;
    const int count = min(32, n - tile);
    for (int jj = 0; jj < count; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      const int key = tile + jj;
      const T* v = kv_row<T>(kv, table[key / B], layer, 1, g, key % B);
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) acc[i] += pj * to_f(v[d]);
      }
    }
    m = m_new;
  }

  if (lane == 0) m_s[warp] = m, l_s[warp] = l;
#pragma unroll
  for (int i = 0; i < DPL; ++i) {
    const int d = lane + 32 * i;
    if (d < hd) acc_s[warp][d] = acc[i];
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
  T* o = out + static_cast<size_t>(t) * num_heads * hd + size_t(h) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float v = 0.f;
    for (int w = 0; w < kWarps; ++w) v += acc_s[w][d] * f[w];
    o[d] = from_f<T>(v * inv);
  }
}

template <class T>
void launch_typed(const T* qkv, int num_tokens, int num_heads, const TokenLayout& tokens, const KvLayout& kv, int layer,
                  T* out, cudaStream_t stream) {
  const dim3 grid(num_tokens, num_heads);
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(kv.head_dim)));
  const int hd = kv.head_dim;
  if (hd <= 32)
    paged_attention_kernel<T, 1><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, kv, layer, scale, out);
  else if (hd <= 64)
    paged_attention_kernel<T, 2><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, kv, layer, scale, out);
  else if (hd <= 128)
    paged_attention_kernel<T, 4><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, kv, layer, scale, out);
  else
    paged_attention_kernel<T, 8><<<grid, kWarps * 32, 0, stream>>>(qkv, num_heads, tokens, kv, layer, scale, out);
}

}  // namespace

void launch_paged_attention(DType dt, const void* qkv, int num_tokens, int num_heads, const TokenLayout& tokens,
                            const KvLayout& kv, int layer, void* out, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  LMRT_DISPATCH_DTYPE(dt, T, launch_typed<T>(static_cast<const T*>(qkv), num_tokens, num_heads, tokens, kv, layer,
                                             static_cast<T*>(out), stream));
}

}  // namespace lmrt::tm
