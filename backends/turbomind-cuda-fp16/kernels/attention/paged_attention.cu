// Paged causal GQA attention for prefill and decode tokens alike (kernels.hpp has the work layout).
//
// The keys of a token are cut into chunks of `chunk` absolute positions (a multiple of 128). Within a chunk,
// 4 warps take tiles of 32 keys, each warp an online softmax, merged across warps into the chunk's partial
// (max, sum, unnormalized output). The chunk partials are then combined in chunk order with combine_partial().
// A work item either loops over all chunks of its group in one block, or computes some chunks of a one-token
// group and writes their partials; combine_partials_kernel then combines them with the same function in the
// same order. So splitting a token over blocks (to fill the GPU at small batch and long context) changes no bit
// of its result, and the result depends only on the token's own sequence.
#include <type_traits>

#include "../common.cuh"
#include "../launch.cuh"
#include "attention_combine.cuh"

namespace lmrt::tm {
namespace {

constexpr int kWarps = kCombineThreads / 32;

template <class T, int DPL, int G>
__global__ void __launch_bounds__(kWarps * 32)
    paged_attention_kernel(const T* qkv, int num_heads, TokenLayout tokens, const int32_t* group_first,
                             const AttentionWork* work, KvLayout kv, int layer, float scale, int chunk, T* out,
                             float* partials) {
  __shared__ float q_s[G][kMaxHeadDim];
  __shared__ float m_s[kWarps], l_s[kWarps];
  __shared__ float acc_s[kWarps][kMaxHeadDim];
  const AttentionWork item = work[blockIdx.x];
  const int t0 = group_first[item.group], cnt = group_first[item.group + 1] - t0;
  const int h = blockIdx.y;
  const int hd = kv.head_dim, kvh = kv.num_kv_heads;
  const int g = h / (num_heads / kvh);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const size_t row = static_cast<size_t>(num_heads + 2 * kvh) * hd;
  griddep_enter();
  for (int i = threadIdx.x; i < cnt * hd; i += blockDim.x) {
    const int qi = i / hd, d = i - qi * hd;
    q_s[qi][d] = to_f(qkv[static_cast<size_t>(t0 + qi) * row + size_t(h) * hd + d]) * scale;
  }
  __syncthreads();

  const int* table = tokens.block_tables + tokens.table_offset[tokens.token_seq[t0]];
  const int B = kv.block_seq_len;
  const bool vec = (hd & 7) == 0;
  int n[G];
  int n_max = 0;
#pragma unroll
  for (int qi = 0; qi < G; ++qi) {
    n[qi] = qi < cnt ? tokens.token_pos[t0 + qi] + 1 : 0;
    n_max = max(n_max, n[qi]);
  }
  Running run[G];
  const int c_begin = item.chunk >= 0 ? item.chunk : 0;
  const int c_step = item.chunk >= 0 ? item.stride : 1;
  const int c_end = (n_max + chunk - 1) / chunk;  // block-uniform: a split item past its token's keys does nothing

  for (int c = c_begin; c < c_end; c += c_step) {
    const int k0 = c * chunk, k1 = min(k0 + chunk, n_max);
    float m[G], l[G], p[G], acc[G][DPL];
#pragma unroll
    for (int qi = 0; qi < G; ++qi) {
      m[qi] = -INFINITY, l[qi] = 0.f, p[qi] = 0.f;
#pragma unroll
      for (int i = 0; i < DPL; ++i) acc[qi][i] = 0.f;
    }
    for (int tile = k0 + warp * 32; tile < k1; tile += kWarps * 32) {
      const int j = tile + lane;
      float dot[G];
#pragma unroll
      for (int qi = 0; qi < G; ++qi) dot[qi] = 0.f;
      if (j < n_max) {
        const T* k = kv_slot<const T>(kv, table[j / B], layer, 0, g, j % B);
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
      int count_max = 0;
#pragma unroll
      for (int qi = 0; qi < G; ++qi) {
        if (tile >= n[qi]) continue;
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
        const T* v = kv_slot<const T>(kv, table[key / B], layer, 1, g, key % B);
        float vf[DPL];
#pragma unroll
        for (int i = 0; i < DPL; ++i) {
          const int d = lane + 32 * i;
          vf[i] = d < hd ? to_f(v[d]) : 0.f;
        }
#pragma unroll
        for (int qi = 0; qi < G; ++qi) {
          if (tile >= n[qi] || jj >= n[qi] - tile) continue;
          const float pj = __shfl_sync(0xffffffffu, p[qi], jj);
#pragma unroll
          for (int i = 0; i < DPL; ++i) {
            const int d = lane + 32 * i;
            if (d < hd) acc[qi][i] += pj * vf[i];
          }
        }
      }
    }
    // The chunk's partial of each token that has keys in it: merged over the warps, then combined or written.
#pragma unroll
    for (int qi = 0; qi < G; ++qi) {
      if (qi >= cnt) break;
      if (k0 >= n[qi]) continue;  // block-uniform
      if (lane == 0) m_s[warp] = m[qi], l_s[warp] = l[qi];
#pragma unroll
      for (int i = 0; i < DPL; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) acc_s[warp][d] = acc[qi][i];
      }
      __syncthreads();
      float m_c = -INFINITY;
      for (int w = 0; w < kWarps; ++w) m_c = fmaxf(m_c, m_s[w]);
      float l_c = 0.f, f[kWarps];
      for (int w = 0; w < kWarps; ++w) {
        f[w] = m_s[w] == -INFINITY ? 0.f : expf(m_s[w] - m_c);
        l_c += l_s[w] * f[w];
      }
      float acc_c[kDimsPerThread];
#pragma unroll
      for (int i = 0; i < kDimsPerThread; ++i) {
        const int d = threadIdx.x + kWarps * 32 * i;
        float v = 0.f;
        if (d < hd)
          for (int w = 0; w < kWarps; ++w) v += acc_s[w][d] * f[w];
        acc_c[i] = v;
      }
      if (item.chunk >= 0) {  // one chunk of a split token: its partial, for combine_partials_kernel
        float* part = partials + (static_cast<size_t>(item.partial + c) * num_heads + h) * attention_partial_floats(hd);
#pragma unroll
        for (int i = 0; i < kDimsPerThread; ++i) {
          const int d = threadIdx.x + kWarps * 32 * i;
          if (d < hd) part[d] = acc_c[i];
        }
        if (threadIdx.x == 0) part[hd] = m_c, part[hd + 1] = l_c;
      } else {
        combine_partial(run[qi], m_c, l_c, acc_c);
      }
      __syncthreads();
    }
  }
  if (item.chunk >= 0) return;
#pragma unroll
  for (int qi = 0; qi < G; ++qi) {
    if (qi >= cnt) break;
    write_output(run[qi], hd, out + static_cast<size_t>(t0 + qi) * num_heads * hd + size_t(h) * hd);
  }
}

template <class T, int G>
void launch_items(const T* qkv, int num_items, int num_heads, const TokenLayout& tokens, const int32_t* group_first,
                    const AttentionWork* work, const KvLayout& kv, int layer, int chunk, T* out, float* partials,
                    cudaStream_t stream) {
  const dim3 grid(num_items, num_heads);
  const float scale = static_cast<float>(1.0 / sqrt(static_cast<double>(kv.head_dim)));
  const int hd = kv.head_dim;
#define LMRT_ATTENTION(DPL)                                                                                          \
  launch_kernel(paged_attention_kernel<T, DPL, G>, grid, dim3(kWarps * 32), 0, stream, qkv, num_heads, tokens, \
                group_first, work, kv, layer, scale, chunk, out, partials)
  if (hd <= 32)
    LMRT_ATTENTION(1);
  else if (hd <= 64)
    LMRT_ATTENTION(2);
  else if (hd <= 128)
    LMRT_ATTENTION(4);
  else
    LMRT_ATTENTION(8);
#undef LMRT_ATTENTION
}

}  // namespace

void launch_attention(DType dt, const void* qkv, int num_items, int max_group, int num_heads, const TokenLayout& tokens,
                      const int32_t* group_first, const AttentionWork* work, const AttentionSplit* splits,
                      int num_splits, const KvLayout& kv, int layer, int chunk, float* partials, void* out,
                      cudaStream_t stream) {
  launch_attention_items(dt, qkv, out, num_items, tokens, splits, num_splits, chunk, num_heads, kv.head_dim, partials,
                         stream, [&](const auto* q, auto* o) {
                           using T = std::remove_const_t<std::remove_pointer_t<decltype(q)>>;
                           if (max_group <= 1)
                             launch_items<T, 1>(q, num_items, num_heads, tokens, group_first, work, kv, layer, chunk, o,
                                                partials, stream);
                           else
                             launch_items<T, kMaxAttentionGroup>(q, num_items, num_heads, tokens, group_first, work, kv,
                                                                 layer, chunk, o, partials, stream);
                         });
}

}  // namespace lmrt::tm
