// Skinny GEMM for decode (a few rows of activations against a weight matrix): bandwidth-bound, so the kernel is
// built around streaming W once at full width. A warp owns kRows weight rows; each lane reads 16-byte pieces of
// them (piece p = lane + 32 i), keeps kUnroll pieces of each row in flight, and multiplies each piece by the same
// piece of every activation row, so W is read once whatever M is. The sum for one (m, n) runs in the same order
// for every M and every pairing of rows, so a token's result does not depend on its batch.
// Weights do not change during a step, so the first round of them is loaded before the kernel waits for the
// previous one (kernels/launch.cuh); the norm or SiLU that forms X runs per block into shared memory after it, and
// a plain X is copied there (GemvArgs::stage_plain_x).
#include "../activation/silu_mul.cuh"
#include "../common.cuh"
#include "../l2_prefetch.cuh"
#include "../launch.cuh"
#include "../rope/rope_pair.cuh"
#include "../timeline.cuh"

#include <algorithm>

namespace lmrt::tm {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 2;    // weight rows per warp: each activation piece loaded once serves both
constexpr int kUnroll = 4;  // pieces per row in flight per lane
// Blocks that fit on an SM at once: __launch_bounds__ holds the kernel to the registers for two (128 a thread),
// and two staged inputs of up to 64 KiB fit beside them.
constexpr int kResidentBlocksPerSm = 2;
// A GEMM's blocks take tiles from GemvArgs::tiles_taken when they have at least this many each (schedule below).
constexpr int kMinTakenTurns = 8;

// A 16-byte piece of W: read once, not worth keeping in L1.
__device__ __forceinline__ uint4 load_stream(const void* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

template <class T>
__device__ __forceinline__ float dot8(const uint4& a, const uint4& b, float acc) {
  const T* x = reinterpret_cast<const T*>(&a);
  const T* y = reinterpret_cast<const T*>(&b);
#pragma unroll
  for (int e = 0; e < 8; ++e) acc = __fmaf_rn(to_f(x[e]), to_f(y[e]), acc);
  return acc;
}

// One round of W: pieces p0, p0 + 32, ... of each of the warp's rows (zero past the end).
__device__ __forceinline__ void load_round(uint4 (&wv)[kRows][kUnroll], const uint4* const (&wr)[kRows], int p0,
                                           int pieces) {
#pragma unroll
  for (int u = 0; u < kUnroll; ++u)
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const int p = p0 + 32 * u;
      wv[r][u] = p < pieces ? load_stream(wr[r] + p) : make_uint4(0, 0, 0, 0);
    }
}

// Whether the norm weights have room in shared memory beside the staged X (they are then copied there before the
// wait, and the norm's second pass does not wait on their load; GemvArgs::early_loads).
__host__ __device__ inline bool norm_weight_staged(const GemvArgs& a) {
  return a.early_loads && a.input == GemvInput::kRmsNorm &&
         static_cast<size_t>(a.m + 1) * a.k * 2 <= kMaxGemvStageBytes;
}
// The norm weights' copy into `dst` ([K]), 8 a thread: stage_rms_norm's loop reads back each thread's own pieces, its
// one-row register path other threads' (after the barrier that follows every thread's wait for its copies).
template <class T>
__device__ void prestage_norm_weight(const GemvArgs& a, T* dst) {
  const T* nw = static_cast<const T*>(a.norm_weight);
  for (int i = threadIdx.x * 8; i < a.k; i += kThreads * 8) copy16_async(dst + i, nw + i, true);
  copy_commit();
}

// A thread's share of a row's squares: its pieces of 4 at threadIdx.x * 4 + kThreads * 4 * j, summed in j order.
__device__ __forceinline__ float add_squares(float ss, const float4& v) {
  return ss + (v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w);
}
// The pieces of 4 a thread keeps in registers for a one-row norm (gemv_norm_in_registers: K up to 8192).
constexpr int kNormPieces = 8;
static_assert(!gemv_norm_in_registers(true, 1, kThreads * 4 * kNormPieces + 8), "a thread's pieces hold every K taken");

// The row sums of partial[M][kWarps] (a warp's sums of squares each) in warp order, as 1 / sqrt(mean + eps).
template <int M>
__device__ __forceinline__ void norm_scales(const float (&partial)[M][kWarps], const GemvArgs& a, float (&inv)[M]) {
#pragma unroll
  for (int m = 0; m < M; ++m) {
    float s = partial[m][0];
    for (int w = 1; w < kWarps; ++w) s += partial[m][w];
    inv[m] = 1.f / sqrtf(s / static_cast<float>(a.k) + a.eps);
  }
}

// X = residual / sqrt(mean(residual^2) + eps) * norm_weight, row by row, into `stage` ([M][K]): the same
// expression as kernels/norm/rms_norm.cu, summed in this block's own (fixed) order. `nw`: the norm weights, in
// global memory or where prestage_norm_weight copied them. One row with GemvArgs::norm_in_registers: its pieces
// load at once and stay in registers for the second pass, the same sums and products, so the same bits.
template <class T, int M>
__device__ void stage_rms_norm(const GemvArgs& a, const T* nw, T* stage) {
  __shared__ float partial[M][kWarps];
  const int k = a.k, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if constexpr (M == 1) {
    if (gemv_norm_in_registers(a.norm_in_registers, a.m, k)) {
      auto piece = [](int j) { return static_cast<int>(threadIdx.x) * 4 + j * kThreads * 4; };
      float4 v[kNormPieces];
#pragma unroll
      for (int j = 0; j < kNormPieces; ++j)
        v[j] = piece(j) < k ? *reinterpret_cast<const float4*>(a.residual + piece(j)) : make_float4(0.f, 0.f, 0.f, 0.f);
      float ss = 0.f;
#pragma unroll
      for (int j = 0; j < kNormPieces; ++j)
        if (piece(j) < k) ss = add_squares(ss, v[j]);
      const float s = warp_sum(ss);
      if (lane == 0) partial[0][warp] = s;
      // A thread reads other threads' pieces of the staged norm weights below: their copies end before the barrier.
      if (norm_weight_staged(a)) copy_wait_own();
      __syncthreads();
      float inv[1];
      norm_scales<1>(partial, a, inv);
#pragma unroll
      for (int j = 0; j < kNormPieces; ++j) {
        const int i = piece(j);
        if (i >= k) break;
        const uint2 wraw = *reinterpret_cast<const uint2*>(nw + i);
        const T* wv = reinterpret_cast<const T*>(&wraw);
        const float x[4] = {v[j].x, v[j].y, v[j].z, v[j].w};
        uint2 packed;
        T* o = reinterpret_cast<T*>(&packed);
#pragma unroll
        for (int e = 0; e < 4; ++e) o[e] = from_f<T>(x[e] * inv[0] * to_f(wv[e]));
        *reinterpret_cast<uint2*>(stage + i) = packed;
      }
      return;
    }
  }
  float ss[M];
#pragma unroll
  for (int m = 0; m < M; ++m) ss[m] = 0.f;
  for (int i = threadIdx.x * 4; i < k; i += kThreads * 4)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      if (m >= a.m) break;
      ss[m] = add_squares(ss[m], *reinterpret_cast<const float4*>(a.residual + static_cast<size_t>(m) * k + i));
    }
#pragma unroll
  for (int m = 0; m < M; ++m) {
    const float s = warp_sum(ss[m]);
    if (lane == 0) partial[m][warp] = s;
  }
  __syncthreads();
  float inv[M];
  norm_scales<M>(partial, a, inv);
  if (norm_weight_staged(a)) copy_wait_own();
  for (int i = threadIdx.x * 8; i < k; i += kThreads * 8) {
    float wv[8];
    load8(nw + i, wv);
#pragma unroll
    for (int m = 0; m < M; ++m) {
      if (m >= a.m) break;
      const float* row = a.residual + static_cast<size_t>(m) * k + i;
      const float4 lo = *reinterpret_cast<const float4*>(row), hi = *reinterpret_cast<const float4*>(row + 4);
      const float v[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
      uint4 packed;
      T* o = reinterpret_cast<T*>(&packed);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = from_f<T>(v[e] * inv[m] * wv[e]);
      *reinterpret_cast<uint4*>(stage + static_cast<size_t>(m) * k + i) = packed;
    }
  }
}

// X = silu(gate) * up (activation/silu_mul.cuh), into `stage` ([M][K]).
template <class T, int M>
__device__ void stage_silu_mul(const GemvArgs& a, T* stage) {
  const int k = a.k;
  const T* gu = static_cast<const T*>(a.x);
  for (int i = threadIdx.x * 8; i < k; i += kThreads * 8)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      if (m >= a.m) break;
      float g[8], u[8];
      load8(gu + static_cast<size_t>(m) * 2 * k + i, g);
      load8(gu + static_cast<size_t>(m) * 2 * k + k + i, u);
      uint4 packed;
      T* o = reinterpret_cast<T*>(&packed);
#pragma unroll
      for (int e = 0; e < 8; ++e) o[e] = from_f<T>(silu_times(g[e], u[e]));
      *reinterpret_cast<uint4*>(stage + static_cast<size_t>(m) * k + i) = packed;
    }
}

// What a tile's stores read besides its sums: the residual rows they add to (kAddResidual), and for kRopeKv the
// pair's bias and rotation and where each token's K and V go. With GemvArgs::early_loads (and one row) they load
// when the tile starts, so that their latency passes behind the weights' (the weight stream evicts them from L2 between
// layers, and each had been a wait after the tile's last round); the KV places (step metadata) before the wait.
template <class T, int M, GemvOutput OUT>
struct TileStoreInputs {
  float residual[kRows][M];
  RopePairInputs rope[M];
  int block[M], slot[M];

  // Rows n0 and n0 + 1 of a kRopeKv GEMM are elements i and i + half of head h.
  __device__ static void rope_pair(const GemvArgs& a, int n0, int& h, int& i) {
    const int half = a.kv.head_dim / 2, p = n0 >> 1;
    h = p / half, i = p - h * half;
  }
  // What no kernel of the step writes: may load before the wait.
  __device__ void load_before_wait(const GemvArgs& a, int n0) {
    if constexpr (OUT == GemvOutput::kRopeKv) {
      int h, i;
      rope_pair(a, n0, h, i);
      if (h < a.num_heads) {  // q heads go back into the row
#pragma unroll
        for (int m = 0; m < M; ++m) block[m] = slot[m] = 0;
        return;
      }
#pragma unroll
      for (int m = 0; m < M; ++m)
        if (m < a.m) kv_place(a.tokens, a.kv, m, block[m], slot[m]);
    }
  }
  // What an earlier kernel of the step wrote (the residual, the RoPE table).
  __device__ void load_after_wait(const GemvArgs& a, int n0) {
    if constexpr (OUT == GemvOutput::kRopeKv) {
      int h, i;
      rope_pair(a, n0, h, i);
      const int half = a.kv.head_dim / 2;
#pragma unroll
      for (int m = 0; m < M; ++m)
        if (m < a.m)
          rope[m] = rope_pair_inputs(static_cast<const T*>(a.bias), h, i, a.rope_cos + size_t(m) * half,
                                     a.rope_sin + size_t(m) * half, a.num_heads, a.kv);
    } else if constexpr (OUT == GemvOutput::kAddResidual) {
#pragma unroll
      for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int m = 0; m < M; ++m)
          if (n0 + r < a.n && m < a.m) residual[r][m] = static_cast<const float*>(a.y)[static_cast<size_t>(m) * a.n + n0 + r];
    }
  }
};

// A block's warps are `splits` slices of K for each of kWarps / splits row pairs: few output rows (the
// hidden-sized GEMMs) still make enough blocks to keep every SM streaming. Slices are summed in slice order.
// Blocks are persistent: block b serves row tile b, then (with a.tiles_taken) whichever tiles it takes from the
// counter, or (without) tiles b + gridDim.x, b + 2 gridDim.x, ...; so X is staged once per block rather than
// once per wave, and the next tile's first weights load while this tile's last round is used. Taking tiles evens
// out the SMs' unequal shares of memory bandwidth, which left a fixed schedule's last block ending 38% of the LM
// head's time after its first (internlm2-1_8b: 125 us, 84 us taking tiles; scripts/gpu/timeline.sh). Which block
// serves a tile changes no arithmetic.
template <class T, int M, GemvInput IN, GemvOutput OUT>
__global__ void __launch_bounds__(kThreads, kResidentBlocksPerSm)
    gemv_kernel(const T* __restrict__ w, GemvArgs a, int splits, unsigned takes, bool plain_x_staged) {
  extern __shared__ __align__(16) unsigned char stage_bytes[];
  __shared__ float slice_sum[kWarps][kRows][M];
  __shared__ int taken[2];  // with a.tiles_taken: turn i's next tile, in taken[i % 2]
  TimelineMark mark;
  mark.begin();
  const int n = a.n, k = a.k, pieces = k / 8;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int slice = warp % splits, pairs = kWarps / splits;
  const int rows_per_tile = pairs * kRows, tiles = (n + rows_per_tile - 1) / rows_per_tile;
  const int slice_len = (pieces + splits - 1) / splits;
  const int p_begin = min(pieces, slice * slice_len), p_end = min(pieces, p_begin + slice_len);
  const int len = p_end - p_begin, rounds = (len + 32 * kUnroll - 1) / (32 * kUnroll);
  // This warp's first row in tile t, and its row pointers there. For kRopeKv, row 2p + r is row i + r * half of
  // head h, where p = h * half + i: a warp's two rows are a rotate-half pair.
  auto first_row = [&](int t) { return t * rows_per_tile + (warp / splits) * kRows; };
  auto weight_row = [&](int row) {
    if constexpr (OUT == GemvOutput::kRopeKv) {
      const int half = a.kv.head_dim / 2, p = row >> 1, h = p / half;
      return h * a.kv.head_dim + (p - h * half) + (row & 1) * half;
    } else if constexpr (OUT == GemvOutput::kSiluMulStore) {
      return (row & 1) * (n / 2) + (row >> 1);  // gate row p, then up row p
    } else {
      return row;
    }
  };
  auto aim = [&](int t, const uint4* (&wr)[kRows]) {
    const int n0 = first_row(t);
#pragma unroll
    for (int r = 0; r < kRows; ++r)
      wr[r] = reinterpret_cast<const uint4*>(w + static_cast<size_t>(weight_row(min(n0 + r, n - 1))) * k) + p_begin;
  };
  int tile = blockIdx.x;
  const uint4* wr[kRows];
  aim(tile, wr);
  uint4 wv[kRows][kUnroll];
  if (first_row(tile) < n) load_round(wv, wr, lane, len);
  // Lane 0 of a tile's first slice stores its rows. Its inputs load early for one row only: held through the
  // rounds, those of more rows spill registers.
  const bool stores = lane == 0 && slice == 0, early = a.early_loads && M == 1;
  TileStoreInputs<T, M, OUT> in;
  if (early && stores && first_row(tile) < n) in.load_before_wait(a, first_row(tile));
  T* const norm_weight = reinterpret_cast<T*>(stage_bytes) + static_cast<size_t>(a.m) * k;
  if constexpr (IN == GemvInput::kRmsNorm)
    if (norm_weight_staged(a)) prestage_norm_weight<T>(a, norm_weight);

  griddep_enter();
  mark.release();
  const T* x = static_cast<const T*>(a.x);
  const bool x_in_shared = IN != GemvInput::kPlain || plain_x_staged;
  if constexpr (IN == GemvInput::kPlain) {
    if (x_in_shared) {
      T* stage = reinterpret_cast<T*>(stage_bytes);
      for (int i = threadIdx.x * 8; i < a.m * k; i += kThreads * 8) copy16_async(stage + i, x + i, true);
      copy_commit();
      copy_wait_own();
      __syncthreads();
      x = stage;
    }
  } else {
    T* stage = reinterpret_cast<T*>(stage_bytes);
    if constexpr (IN == GemvInput::kRmsNorm)
      stage_rms_norm<T, M>(a, norm_weight_staged(a) ? norm_weight : static_cast<const T*>(a.norm_weight), stage);
    else
      stage_silu_mul<T, M>(a, stage);
    __syncthreads();
    x = stage;
  }

  // With `takes`, a block's first two tiles are b and b + gridDim.x and each later one is taken from the counter
  // by thread 0 a turn ahead (turn i takes turn i + 2's tile and leaves it in taken[(i + 1) % 2]), so that the
  // counter's round trip hides behind a tile's loads; the barrier at each turn's start orders each slot's write
  // after its last read. A block of L turns takes L - 1 times, the last one past the end: `takes` = tiles - blocks
  // in all, and atomicInc wraps the counter back to zero at the last, ready for the next launch.
  unsigned* const counter = takes ? a.tiles_taken : nullptr;
  int took = 0, next_tile = 0;
  for (int turn = 0; tile < tiles; ++turn, tile = next_tile) {
    if (counter && turn > 0) __syncthreads();
    const int n0 = first_row(tile);
    const bool active = n0 < n;
    next_tile = counter && turn > 0 ? taken[turn & 1] : tile + static_cast<int>(gridDim.x);
    if (counter && threadIdx.x == 0 && next_tile < tiles)
      took = static_cast<int>(2 * gridDim.x + atomicInc(counter, takes - 1));
    const bool next_active = next_tile < tiles && first_row(next_tile) < n;
    if (early && stores && active) {
      if (turn > 0) in.load_before_wait(a, n0);
      in.load_after_wait(a, n0);
    }
    const uint4* wr_next[kRows];
    aim(next_tile < tiles ? next_tile : tile, wr_next);
    float acc[kRows][M];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int m = 0; m < M; ++m) acc[r][m] = 0.f;
    for (int rd = 0; rd < rounds; ++rd) {
      const int p0 = lane + rd * 32 * kUnroll;
      uint4 next[kRows][kUnroll];
      const bool last = rd + 1 == rounds;
      if (!last) {
        if (active) load_round(next, wr, p0 + 32 * kUnroll, len);
      } else if (next_active) {
        load_round(next, wr_next, lane, len);
      }
      if (active) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
          const int p = p0 + 32 * u;
          if (p >= len) break;
#pragma unroll
          for (int m = 0; m < M; ++m) {
            if (m >= a.m) break;
            const uint4* xp = reinterpret_cast<const uint4*>(x + static_cast<size_t>(m) * k) + p_begin + p;
            const uint4 xv = x_in_shared ? *xp : __ldg(xp);
#pragma unroll
            for (int r = 0; r < kRows; ++r) acc[r][m] = dot8<T>(wv[r][u], xv, acc[r][m]);
          }
        }
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
#pragma unroll
        for (int r = 0; r < kRows; ++r) wv[r][u] = next[r][u];
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r)
      wr[r] = wr_next[r];
    if (counter && threadIdx.x == 0) taken[(turn + 1) & 1] = took;
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int m = 0; m < M; ++m) {
        acc[r][m] = warp_sum(acc[r][m]);
        if (splits > 1 && lane == 0) slice_sum[warp][r][m] = acc[r][m];
      }
    if (splits > 1) {
      __syncthreads();
      if (slice == 0) {
#pragma unroll
        for (int r = 0; r < kRows; ++r)
#pragma unroll
          for (int m = 0; m < M; ++m) {
            float v = slice_sum[warp][r][m];
            for (int s = 1; s < splits; ++s) v += slice_sum[warp + s][r][m];
            acc[r][m] = v;
          }
      }
      __syncthreads();  // slice_sum is the next tile's
    }
    if (!active || !stores) continue;
    if constexpr (OUT == GemvOutput::kRopeKv) {
      static_assert(kRows == 2, "a warp's rows are one rotate-half pair");
      int h, i;
      in.rope_pair(a, n0, h, i);
      const int half = a.kv.head_dim / 2;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        if (m >= a.m) break;
        int block = 0, slot = 0;
        RopePairInputs ri;
        if (early) {
          ri = in.rope[m], block = in.block[m], slot = in.slot[m];
        } else {  // read here rather than through `in`, whose arrays, live through the rounds, spill registers
          if (h >= a.num_heads) kv_place(a.tokens, a.kv, m, block, slot);
          ri = rope_pair_inputs(static_cast<const T*>(a.bias), h, i, a.rope_cos + size_t(m) * half,
                                a.rope_sin + size_t(m) * half, a.num_heads, a.kv);
        }
        // As the RoPE kernel reads them: the GEMM's outputs rounded to DType.
        rope_store_pair<T>(to_f(from_f<T>(acc[0][m])), to_f(from_f<T>(acc[1][m])), ri, h, i,
                           static_cast<T*>(a.y) + size_t(m) * n, a.num_heads, a.kv, a.layer, block, slot);
      }
    } else if constexpr (OUT == GemvOutput::kSiluMulStore) {
      static_assert(kRows == 2, "a warp's rows are one gate/up pair");
      const int inter = n / 2, p = n0 >> 1;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        if (m >= a.m) break;
        // As the SiLU-and-multiply staging reads them: the GEMM's outputs rounded to DType.
        static_cast<T*>(a.y)[static_cast<size_t>(m) * inter + p] =
            from_f<T>(silu_times(to_f(from_f<T>(acc[0][m])), to_f(from_f<T>(acc[1][m]))));
      }
    } else {
#pragma unroll
      for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int m = 0; m < M; ++m) {
          if (n0 + r >= n || m >= a.m) continue;
          const float v = acc[r][m];
          const size_t at = static_cast<size_t>(m) * n + n0 + r;
          if constexpr (OUT == GemvOutput::kStore)
            static_cast<T*>(a.y)[at] = from_f<T>(v);
          else if constexpr (OUT == GemvOutput::kStoreF32)
            static_cast<float*>(a.y)[at] = v;
          else  // as the unfused path adds the stored DType output
            static_cast<float*>(a.y)[at] =
                (early ? in.residual[r][m] : static_cast<const float*>(a.y)[at]) + to_f(from_f<T>(v));
        }
    }
  }
  prefetch_l2_share(a.prefetch_after, blockIdx.x, gridDim.x);
  mark.block_end(static_cast<TimelineKind>(a.timeline_kind), a.layer);
}

// Slices of K per row pair. Blocks are persistent, so a GEMM takes as long as its busiest block: ceil(tiles /
// resident) tiles. The split is the one that evens that out best, each doubling asked to gain 4% more of the slots'
// time (it adds a reduction a tile); each slice keeps at least two pieces per lane, and more than two slices are
// taken only while the GEMM has fewer tiles than slots (four and eight slices to even out a last round were slower
// than their balance promised: qwen2-7b, docs/benchmarks.md). So the hidden-sized GEMMs split to fill the GPU, and
// an uneven last round splits in two (internlm2-7b's QKV: 384 tiles on 264 slots, 73% of the slots' time, 97% in
// two). A function of the shape and the device only, so a row's sum does not depend on M.
int k_splits(int n, int k, int resident) {
  const int pieces = k / 8;
  int best = 1, best_log = 0;
  double best_use = 0;
  int prev_tiles = 0;
  for (int s = 1, lg = 0; s <= kWarps && (s == 1 || pieces / s >= 64) && (s <= 2 || prev_tiles < resident);
       s *= 2, ++lg) {
    const int rows_per_tile = kRows * kWarps / s, tiles = (n + rows_per_tile - 1) / rows_per_tile;
    const int per_block = (tiles + resident - 1) / resident;
    const double use = static_cast<double>(tiles) / (static_cast<double>(per_block) * resident);
    if (s == 1 || use > best_use + 0.04 * (lg - best_log)) best = s, best_log = lg, best_use = use;
    prev_tiles = tiles;
  }
  return best;
}

// The SMs of the device the first launch ran on (the devices of one process are of one kind here).
int sm_count() {
  static const int count = [] {
    int device = 0, v = 0;
    if (cudaGetDevice(&device) != cudaSuccess || cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, device) != cudaSuccess)
      v = 0;
    return std::max(v, 1);
  }();
  return count;
}

// Whether a plain X of M x K is copied into shared memory after the wait (GemvArgs::stage_plain_x), with K in
// `splits` slices.
bool plain_x_staged(GemvStagePlainX policy, int m, int k, int splits) {
  if (static_cast<size_t>(m) * k * 2 > kMaxGemvStageBytes) return false;
  if (policy == GemvStagePlainX::kLongRows)
    return splits == 1 && (k / 8 + 32 * kUnroll - 1) / (32 * kUnroll) >= kGemvStageMinRounds;
  return policy == GemvStagePlainX::kAlways;
}

// X, and the norm weights when they are staged too; `plain_staged`: whether a plain X is.
size_t staged_x_bytes(const GemvArgs& a, bool plain_staged) {
  if (a.input == GemvInput::kPlain) return plain_staged ? static_cast<size_t>(a.m) * a.k * 2 : 0;
  return static_cast<size_t>(a.m + (norm_weight_staged(a) ? 1 : 0)) * a.k * 2;
}

// Loads the kernel (CUDA loads modules lazily, at a kernel's first launch, which would otherwise fall in whichever
// step first has that row count) and lets it stage up to kMaxGemvStageBytes.
template <class T, int M, GemvInput IN, GemvOutput OUT>
bool prepare() {
  static const bool ok = [] {
    cudaFuncAttributes attrs;
    bool good = cudaFuncGetAttributes(&attrs, gemv_kernel<T, M, IN, OUT>) == cudaSuccess;
    good = good && cudaFuncSetAttribute(gemv_kernel<T, M, IN, OUT>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        static_cast<int>(kMaxGemvStageBytes)) == cudaSuccess;
    return good;
  }();
  return ok;
}

// How an N x K product is laid out over the blocks: as many as stay resident, each serving the same number of
// tiles (give or take one).
struct Schedule {
  int splits, tiles, blocks;
  // Tiles are taken from a counter only by GEMMs of many tiles a block (the LM head): those of four or six (the
  // gate/up GEMMs) lost more to the barrier a turn than they gained (internlm2-1_8b's: 18.7 us against 18.1).
  bool takes_tiles;
};
Schedule schedule(int n, int k) {
  const int resident = kResidentBlocksPerSm * sm_count();
  const int splits = k_splits(n, k, resident), rows_per_tile = kRows * kWarps / splits;
  const int tiles = (n + rows_per_tile - 1) / rows_per_tile;
  const int per_block = (tiles + resident - 1) / resident;
  const int blocks = (tiles + per_block - 1) / per_block;
  return {splits, tiles, blocks, per_block >= kMinTakenTurns && tiles > 2 * blocks};
}

template <class T, int M, GemvInput IN, GemvOutput OUT>
void launch(const void* w, const GemvArgs& a, cudaStream_t stream) {
  prepare<T, M, IN, OUT>();
  const Schedule s = schedule(a.n, a.k);
  const unsigned takes = a.tiles_taken && s.takes_tiles ? static_cast<unsigned>(s.tiles - s.blocks) : 0;
  const bool plain_staged = IN == GemvInput::kPlain && plain_x_staged(a.stage_plain_x, a.m, a.k, s.splits);
  launch_kernel(gemv_kernel<T, M, IN, OUT>, dim3(s.blocks), dim3(kThreads), staged_x_bytes(a, plain_staged), stream,
                static_cast<const T*>(w), a, s.splits, takes, plain_staged);
}

// The pairings the engine uses; M rounds up to 1, 2, 4 or 8 (the kernel skips rows past a.m, and a row's sum does
// not depend on M), which keeps the instantiations few.
template <class T, int M>
bool by_pairing(const void* w, const GemvArgs& a, cudaStream_t stream) {
  using I = GemvInput;
  using O = GemvOutput;
  if (a.input == I::kPlain && a.output == O::kStore) launch<T, M, I::kPlain, O::kStore>(w, a, stream);
  else if (a.input == I::kPlain && a.output == O::kStoreF32) launch<T, M, I::kPlain, O::kStoreF32>(w, a, stream);
  else if (a.input == I::kPlain && a.output == O::kAddResidual) launch<T, M, I::kPlain, O::kAddResidual>(w, a, stream);
  else if (a.input == I::kRmsNorm && a.output == O::kStore) launch<T, M, I::kRmsNorm, O::kStore>(w, a, stream);
  else if (a.input == I::kRmsNorm && a.output == O::kStoreF32) launch<T, M, I::kRmsNorm, O::kStoreF32>(w, a, stream);
  else if (a.input == I::kSiluMul && a.output == O::kAddResidual) launch<T, M, I::kSiluMul, O::kAddResidual>(w, a, stream);
  else if (a.input == I::kSiluMul && a.output == O::kStoreF32) launch<T, M, I::kSiluMul, O::kStoreF32>(w, a, stream);
  else if (a.input == I::kRmsNorm && a.output == O::kRopeKv) launch<T, M, I::kRmsNorm, O::kRopeKv>(w, a, stream);
  else if (a.input == I::kRmsNorm && a.output == O::kSiluMulStore)
    launch<T, M, I::kRmsNorm, O::kSiluMulStore>(w, a, stream);
  else return false;
  return true;
}

template <class T, int M>
bool prepare_pairings() {
  using I = GemvInput;
  using O = GemvOutput;
  return prepare<T, M, I::kPlain, O::kStore>() && prepare<T, M, I::kPlain, O::kStoreF32>() &&
         prepare<T, M, I::kPlain, O::kAddResidual>() && prepare<T, M, I::kRmsNorm, O::kStore>() &&
         prepare<T, M, I::kRmsNorm, O::kStoreF32>() &&
         prepare<T, M, I::kSiluMul, O::kAddResidual>() && prepare<T, M, I::kSiluMul, O::kStoreF32>() &&
         prepare<T, M, I::kRmsNorm, O::kRopeKv>() && prepare<T, M, I::kRmsNorm, O::kSiluMulStore>();
}

template <class T>
bool by_rows(const void* w, const GemvArgs& a, cudaStream_t stream) {
  if (a.m <= 1) return by_pairing<T, 1>(w, a, stream);
  if (a.m <= 2) return by_pairing<T, 2>(w, a, stream);
  if (a.m <= 4) return by_pairing<T, 4>(w, a, stream);
  return by_pairing<T, 8>(w, a, stream);
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

bool launch_gemv(DType dt, const void* w, const GemvArgs& a, cudaStream_t stream) {
  if (a.m < 1 || a.m > kMaxGemvRows || a.n <= 0 || a.k <= 0 || a.k % 8 != 0 || !aligned16(w) || !a.y) return false;
  if (staged_x_bytes(a, false) > kMaxGemvStageBytes) return false;  // a plain X that does not fit is read from L1
  if (a.output == GemvOutput::kSiluMulStore && a.n % 2 != 0) return false;
  if (a.output == GemvOutput::kRopeKv &&
      (a.kv.head_dim < 2 || a.kv.head_dim % 2 != 0 || a.n % a.kv.head_dim != 0 ||
       a.n != (a.num_heads + 2 * a.kv.num_kv_heads) * a.kv.head_dim || !a.rope_cos || !a.rope_sin || !a.kv.data))
    return false;
  switch (a.input) {
    case GemvInput::kPlain:
    case GemvInput::kSiluMul:
      if (!aligned16(a.x)) return false;
      break;
    case GemvInput::kRmsNorm:
      if (!aligned16(a.residual) || !aligned16(a.norm_weight)) return false;
      break;
  }
  bool launched = false;
  LMRT_DISPATCH_DTYPE(dt, T, launched = by_rows<T>(w, a, stream));
  return launched;
}

bool gemv_takes_tiles(int n, int k) { return n > 0 && k > 0 && schedule(n, k).takes_tiles; }

bool gemv_stages_plain_x(GemvStagePlainX policy, int m, int n, int k) {
  return m > 0 && n > 0 && k > 0 && plain_x_staged(policy, m, k, schedule(n, k).splits);
}

L2Prefetch gemv_l2_prefetch(const void* w, int n, int k, double fraction) {
  if (n <= 0 || k <= 0) return {};
  return l2_prefetch_slices(w, n, k, schedule(n, k).splits, fraction, 32 * kUnroll * 16);
}

bool prepare_gemv(DType dt) {
  bool ok = false;
  LMRT_DISPATCH_DTYPE(dt, T, ok = prepare_pairings<T, 1>() && prepare_pairings<T, 2>() && prepare_pairings<T, 4>() &&
                                  prepare_pairings<T, 8>());
  return ok;
}

}  // namespace lmrt::tm
