// What both attention kernels share: how a token's chunk partials (max, sum, unnormalized output) are combined in
// chunk order, element by element with explicit roundings, so that a token combined in registers and one combined
// from its written partials get the same bits.
#pragma once

#include "../common.cuh"
#include "../launch.cuh"

namespace lmrt::tm {

// The factors that rescale the running state (max m) and a chunk's partial (max m_c); m becomes max(m, m_c).
struct CombineFactors {
  float a, b;
};
__device__ __forceinline__ CombineFactors combine_factors(float& m, float m_c) {
  const float m_new = fmaxf(m, m_c);
  const CombineFactors f{m == -INFINITY ? 0.f : expf(__fsub_rn(m, m_new)), expf(__fsub_rn(m_c, m_new))};
  m = m_new;
  return f;
}
__device__ __forceinline__ float combine_value(float run, float chunk, CombineFactors f) {
  return __fmaf_rn(run, f.a, __fmul_rn(chunk, f.b));
}

constexpr int kCombineThreads = 128;
constexpr int kMaxHeadDim = 256;
constexpr int kDimsPerThread = kMaxHeadDim / kCombineThreads;  // thread x holds dimensions x, x + 128

// A token's running state over its chunks, as one block of kCombineThreads holds it.
struct Running {
  float m = -INFINITY, l = 0.f;
  float acc[kDimsPerThread] = {0.f, 0.f};
};

__device__ __forceinline__ void combine_partial(Running& r, float m_c, float l_c,
                                                const float (&acc_c)[kDimsPerThread]) {
  const CombineFactors f = combine_factors(r.m, m_c);
  r.l = combine_value(r.l, l_c, f);
#pragma unroll
  for (int i = 0; i < kDimsPerThread; ++i) r.acc[i] = combine_value(r.acc[i], acc_c[i], f);
}

__device__ __forceinline__ float output_scale(float l) { return __fdiv_rn(1.f, l); }

// A head's output: this thread's dimensions index, index + kGroup, ... of acc over the sum l.
template <class T, int kGroup, int kPer>
__device__ __forceinline__ void write_head(float l, const float (&acc)[kPer], int hd, int index, T* out) {
  const float inv = output_scale(l);
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int d = index + kGroup * i;
    if (d < hd) out[d] = from_f<T>(__fmul_rn(acc[i], inv));
  }
}

template <class T>
__device__ __forceinline__ void write_output(const Running& r, int hd, T* o) {
  write_head<T, kCombineThreads, kDimsPerThread>(r.l, r.acc, hd, threadIdx.x, o);
}

// Folds the partials of n <= kN <= 32 consecutive chunks into a head's running state (max m, sum l, this thread's
// kPer outputs: dimensions index, index + kGroup, ...), in chunk order. at(c, e) is element e of the group's chunk c
// (e < hd: an output; hd: the max; hd + 1: the sum); whole warps call it.
//
// The operations are those of combine_factors and combine_value chunk after chunk, but only the FMAs that fold a
// chunk into the state run one after another: the lanes of a warp take a chunk each for the running maxima (a
// prefix max over the warp; max is exact, so these are the maxima the one-at-a-time order reaches) and the
// factors' expf calls. The loops run kN times, not n, so that they have no exit to wait on: a chunk past n folds
// with factors 1 and -0, which leave every state as it was (x * 1 + -0 is x, -0 included).
template <int kN, int kGroup, int kPer, class At>
__device__ __forceinline__ void fold_chunks(float& m, float& l, float (&acc)[kPer], int n, int hd, int index, At at) {
  static_assert(kN >= 1 && kN <= 32, "a warp folds at most 32 chunks at a time");
  constexpr unsigned kAll = 0xffffffffu;
  const int lane = threadIdx.x & 31;
  float acc_c[kN][kPer];
#pragma unroll
  for (int c = 0; c < kN; ++c)
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
      const int d = index + kGroup * i;
      acc_c[c][i] = c < n && d < hd ? at(c, d) : 0.f;
    }
  float m_c = -INFINITY, l_c = 0.f;
  if (lane < n) m_c = at(lane, hd), l_c = at(lane, hd + 1);
  // The running max after this lane's chunk, and before it.
  float after = m_c;
#pragma unroll
  for (int s = 1; s < kN; s <<= 1) {
    const float o = __shfl_up_sync(kAll, after, s);
    if (lane >= s) after = fmaxf(after, o);
  }
  after = fmaxf(m, after);
  float before = __shfl_up_sync(kAll, after, 1);
  if (lane == 0) before = m;
  CombineFactors f{0.f, expf(__fsub_rn(m_c, after))};
  if (before != -INFINITY) f.a = expf(__fsub_rn(before, after));
  if (lane >= n) f = {1.f, -0.f};
  const float l_b = __fmul_rn(l_c, f.b);
#pragma unroll
  for (int c = 0; c < kN; ++c) {
    const CombineFactors g{__shfl_sync(kAll, f.a, c), __shfl_sync(kAll, f.b, c)};
    l = __fmaf_rn(l, g.a, __shfl_sync(kAll, l_b, c));
#pragma unroll
    for (int i = 0; i < kPer; ++i) acc[i] = combine_value(acc[i], acc_c[c][i], g);
  }
  m = __shfl_sync(kAll, after, n - 1);
}

// fold_chunks for any n <= 32: few chunks (a short context's) in a short loop.
template <int kGroup, int kPer, class At>
__device__ __forceinline__ void fold_some_chunks(float& m, float& l, float (&acc)[kPer], int n, int hd, int index,
                                                 At at) {
  if (n <= 4)
    fold_chunks<4, kGroup, kPer>(m, l, acc, n, hd, index, at);
  else
    fold_chunks<32, kGroup, kPer>(m, l, acc, n, hd, index, at);
}

// One head of a split token: its `chunks` partials from row `first` on ([row][num_heads][partial], partial =
// attention_partial_floats(hd)) combined in chunk order by a group of kGroup threads (whole warps), the one at
// `index` holding dimensions index, index + kGroup, ... (kPer of them), and written to `out` (the head's row of the
// attention output). Loads go to L2: the partials may have been written by other blocks of the same kernel.
template <class T, int kGroup, int kPer>
__device__ __forceinline__ void combine_head_partials(const float* partials, int first, int chunks, int num_heads,
                                                      int h, int hd, int index, T* out) {
  const int P = attention_partial_floats(hd);
  const size_t row = static_cast<size_t>(num_heads) * P;
  const float* head = partials + (static_cast<size_t>(first) * num_heads + h) * P;
  float m = -INFINITY, l = 0.f, acc[kPer];
#pragma unroll
  for (int i = 0; i < kPer; ++i) acc[i] = 0.f;
  for (int c0 = 0; c0 < chunks; c0 += 32)
    fold_some_chunks<kGroup, kPer>(m, l, acc, min(32, chunks - c0), hd, index,
                                   [&](int c, int e) { return __ldcg(head + (c0 + c) * row + e); });
  write_head<T, kGroup, kPer>(l, acc, hd, index, out);
}

// Head h of a split token by a block of kCombineThreads; `out` is the token's row of the attention output.
template <class T>
__device__ __forceinline__ void combine_token_head(const float* partials, int first, int chunks, int num_heads, int h,
                                                   int hd, T* out) {
  combine_head_partials<T, kCombineThreads, kDimsPerThread>(partials, first, chunks, num_heads, h, hd, threadIdx.x,
                                                            out + size_t(h) * hd);
}

// Shared memory combine_token_heads_by_warp needs: 32 partials a warp.
template <int D>
constexpr size_t combine_by_warp_stage_bytes(int warps) {
  return size_t(warps) * 32 * attention_partial_floats(D) * sizeof(float);
}

// `count` heads of a split token from h_first on, a warp per head (warp w takes heads w, w + warps, ...), with the
// operations of combine_head_partials, so the same bits. Each warp copies 32 chunks' partials of its head at a time
// into its part of `stage` (combine_by_warp_stage_bytes) with asynchronous copies, all in flight at once, and folds
// them from there (loaded into registers, a 2048-token combine took 0.5 to 0.7 us longer; docs/benchmarks.md). D is
// the head dimension.
template <class T, int D>
__device__ __forceinline__ void combine_token_heads_by_warp(const float* partials, int first, int chunks,
                                                            int num_heads, int h_first, int count, T* out,
                                                            float* stage) {
  constexpr int P = attention_partial_floats(D), kPer = (D + 31) / 32;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  float* mine = stage + static_cast<size_t>(warp) * 32 * P;
  const size_t row = static_cast<size_t>(num_heads) * P;
  for (int j = warp; j < count; j += warps) {
    const float* head = partials + (static_cast<size_t>(first) * num_heads + h_first + j) * P;
    float m = -INFINITY, l = 0.f, acc[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) acc[i] = 0.f;
    for (int c0 = 0; c0 < chunks; c0 += 32) {
      const int n = min(32, chunks - c0);
      __syncwarp();  // the lanes are done with the last group's copies
      for (int q = lane; q < n * (P / 4); q += 32) {
        const int c = q / (P / 4), e = (q - c * (P / 4)) * 4;
        copy16_async(mine + c * P + e, head + (c0 + c) * row + e, true);
      }
      copy_commit();
      copy_wait<0>();
      __syncwarp();
      fold_some_chunks<32, kPer>(m, l, acc, n, D, lane, [&](int c, int e) { return mine[c * P + e]; });
    }
    write_head<T, 32, kPer>(l, acc, D, lane, out + size_t(h_first + j) * D);
  }
}

// One block per (split token, head): its chunks' partials combined in chunk order. A token has
// min(num_chunks, its own count of chunks) of them.
template <class T>
__global__ void __launch_bounds__(kCombineThreads)
    combine_partials_kernel(const AttentionSplit* splits, const int32_t* token_pos, int chunk, int num_heads,
                            int head_dim, const float* partials, T* out) {
  const AttentionSplit s = splits[blockIdx.x];
  const int chunks = min(s.num_chunks, (token_pos[s.token] + chunk) / chunk);
  griddep_enter();
  combine_token_head(partials, s.partial, chunks, num_heads, static_cast<int>(blockIdx.y), head_dim,
                     out + static_cast<size_t>(s.token) * num_heads * head_dim);
}

template <class T>
void launch_combine_partials(const AttentionSplit* splits, int num_splits, const int32_t* token_pos, int chunk,
                             int num_heads, int head_dim, const float* partials, T* out, cudaStream_t stream) {
  launch_kernel(combine_partials_kernel<T>, dim3(num_splits, num_heads), dim3(kCombineThreads), 0, stream, splits,
                token_pos, chunk, num_heads, head_dim, partials, out);
}

// What both launchers do around their kernel: nothing for no work, the element type of `dt`, then the combine of
// the split tokens. `items(q, o)` launches the work items with q and o typed.
template <class Items>
void launch_attention_items(DType dt, const void* qkv, void* out, int num_items, const TokenLayout& tokens,
                            const AttentionSplit* splits, int num_splits, int chunk, int num_heads, int head_dim,
                            const float* partials, cudaStream_t stream, Items&& items) {
  if (num_items <= 0) return;
  LMRT_DISPATCH_DTYPE(dt, T, {
    T* o = static_cast<T*>(out);
    items(static_cast<const T*>(qkv), o);
    if (num_splits > 0)
      launch_combine_partials<T>(splits, num_splits, tokens.token_pos, chunk, num_heads, head_dim, partials, o, stream);
  });
}

}  // namespace lmrt::tm
