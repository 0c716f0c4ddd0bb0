// Paged causal GQA attention on tensor cores (FlashAttention-2 style, mma.sync m16n8k16, fp32 accumulation), for
// head_dim 16, 32, 64 and 128; the same work layout and chunk semantics as paged_attention.cu (kernels.hpp).
//
// A block is one work item and one KV head: its rows are (token, query head) pairs, token-major, of the item's
// tokens and the heads that share this KV head, 16 rows per warp, at most 64. Keys come in tiles of 64 absolute
// positions staged in shared memory (cp.async; the next tile loads while one is used); each warp computes
// S = Q K^T for its rows, an online softmax over the tile in registers (base 2, the scale folded into one FMA, the
// causal mask only on tiles that reach past the group's first token), and O += P V with P rounded to the element type.
// Tiles are aligned to absolute key positions and never straddle a chunk, so a row's arithmetic depends only on its
// own token and sequence: which other rows share its block, how the prompt was chunked and how the token was split
// over blocks change no bit. At the end of a chunk a row's partial is combined into its running state in
// shared memory (attention_combine.cuh), or written out when the item is one chunk set of a split token; the last
// of a split token's items to finish then combines them, a warp per query head, with the operations
// combine_partials_kernel uses.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "../../cuda_check.hpp"
#include "../common.cuh"
#include "../l2_prefetch.cuh"
#include "../launch.cuh"
#include "../timeline.cuh"
#include "attention_combine.cuh"

namespace lmrt::tm {
namespace {

constexpr int kWarps = 4;
constexpr int kRows = kWarps * 16;  // rows of a block
constexpr int kTile = 64;           // keys of a tile
constexpr float kLn2 = 0.693147180559945309f;

__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, __half) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, __nv_bfloat16) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <class T>
__device__ __forceinline__ uint32_t pack_rounded(float lo, float hi) {
  const T l = from_f<T>(lo), h = from_f<T>(hi);
  return uint32_t(reinterpret_cast<const uint16_t&>(l)) | (uint32_t(reinterpret_cast<const uint16_t&>(h)) << 16);
}
__device__ __forceinline__ uint32_t load32(const void* p) { return *static_cast<const uint32_t*>(p); }
// 2^x with a subnormal result flushed to 0. exp2f gives the same bits where the result is at least 2^-126 and
// spends three more instructions an element on the range below, where a probability adds nothing to a row's sum
// (at least 1).
__device__ __forceinline__ float exp2_ftz(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Four (two) 8x8 b16 matrices from shared memory, lane t giving the address of row t % 8 of matrix t / 8: register
// i holds matrix i's elements (row gid, columns 2 tq and 2 tq + 1), or with .trans (rows 2 tq and 2 tq + 1,
// column gid), which is an mma B fragment half read from row-major storage.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* p) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}
__device__ __forceinline__ void ldmatrix_x2(uint32_t (&r)[2], const void* p) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(a));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* p) {
  const uint32_t a = static_cast<uint32_t>(__cvta_generic_to_shared(p));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(a));
}

template <int D>
struct Smem {
  static constexpr int kStride = D + 8;  // elements per staged K/V row: 16 bytes of padding spread the banks
  static constexpr size_t kKv = size_t(kTile) * kStride * 2;  // one staged tile of K (or V)
  // K and V tiles twice (the next tile loads while this one is used), then the rows' running state.
  // A running-state row of floats, padded so that the 8 rows a warp's lanes touch at once (rows gid, one float2 per
  // lane) fall on different banks; unpadded, the 8 rows sat on the same bank.
  static constexpr int kAccStride = D + 8;
  static constexpr size_t bytes() { return 4 * kKv + size_t(kRows) * kAccStride * 4 + 2 * kRows * 4; }
};

// Two blocks an SM, as their shared memory allows: the register budget that says (without it, ptxas spilled D = 32).
template <class T, int D>
__global__ void __launch_bounds__(kWarps * 32, 2)
    tensor_core_attention_kernel(const T* qkv, int num_heads, TokenLayout tokens, const int32_t* group_first,
                                 const AttentionWork* work, KvLayout kv, int layer, float scale_log2, int chunk,
                                 T* out, float* partials, unsigned* split_counters, AttentionPrefetch prefetch) {
  constexpr int S = Smem<D>::kStride, kPartial = attention_partial_floats(D);
  static_assert(combine_by_warp_stage_bytes<D>(kWarps) <= Smem<D>::bytes(), "the combine stages in the tiles' place");
  extern __shared__ __align__(16) unsigned char smem[];
  TimelineMark mark;
  mark.begin();
  T* k_s = reinterpret_cast<T*>(smem);  // [2][kTile][S]
  T* v_s = k_s + 2 * kTile * S;          // [2][kTile][S]
  float* run_acc = reinterpret_cast<float*>(smem + 4 * Smem<D>::kKv);
  constexpr int A = Smem<D>::kAccStride;
  float* run_m = run_acc + kRows * A;
  float* run_l = run_m + kRows;

  // Blocks go item after item, an item's KV heads side by side. They start in this order as the previous kernel's
  // blocks leave, over about 1.7 us, so the last to start are the last items (a short token's items past its last
  // chunk, a prompt's shortest groups), not every item of the last KV head (docs/benchmarks.md).
  const int kvh = kv.num_kv_heads, g = static_cast<int>(blockIdx.x % kvh);
  const AttentionWork item = work[blockIdx.x / kvh];
  const int t0 = group_first[item.group], cnt = group_first[item.group + 1] - t0;
  const int hpg = num_heads / kvh;
  const int rows = cnt * hpg;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, gid = lane >> 2, tq = lane & 3;
  const size_t row_stride = static_cast<size_t>(num_heads + 2 * kvh) * D;
  const bool split = item.chunk >= 0;

  // This lane's two rows (gid and gid + 8 of its warp's 16): token, head, and how many keys each sees.
  int r_token[2], r_head[2], r_n[2];
  bool r_ok[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = warp * 16 + gid + 8 * i;
    r_ok[i] = r < rows;
    r_token[i] = t0 + (r_ok[i] ? r / hpg : 0);
    r_head[i] = g * hpg + (r_ok[i] ? r % hpg : 0);
    r_n[i] = r_ok[i] ? tokens.token_pos[r_token[i]] + 1 : 0;
  }
  // A group's tokens are consecutive positions: its first sees n_min keys, its last n_max.
  const int n_min = tokens.token_pos[t0] + 1, n_max = tokens.token_pos[t0 + cnt - 1] + 1;
  const int* table = tokens.block_tables + tokens.table_offset[tokens.token_seq[t0]];
  const int B = kv.block_seq_len;
  const int c_begin = split ? item.chunk : 0, c_step = split ? item.stride : 1;
  const int c_end = (n_max + chunk - 1) / chunk;
  // Keys past the sequence are staged as zeros: P is 0 there, and 0 * garbage could be NaN. When KV blocks hold
  // whole tiles (block_seq_len a multiple of kTile, as by default), a tile's K (V) rows are one contiguous run.
  auto stage = [&](int tile, int buf) {
    T* kd = k_s + buf * kTile * S;
    T* vd = v_s + buf * kTile * S;
    if (B % kTile == 0) {
      const int blk = table[tile / B], slot = tile % B;
      const T* ks = kv_slot<const T>(kv, blk, layer, 0, g, slot);
      const T* vs = kv_slot<const T>(kv, blk, layer, 1, g, slot);
#pragma unroll
      for (int r = 0; r < kTile * (D / 8) / (kWarps * 32); ++r) {
        const int i = r * kWarps * 32 + threadIdx.x, key = i / (D / 8), piece = i % (D / 8);
        const bool ok = tile + key < n_max;
        copy16_async(kd + key * S + piece * 8, ks + (ok ? i * 8 : 0), ok);
        copy16_async(vd + key * S + piece * 8, vs + (ok ? i * 8 : 0), ok);
      }
    } else {
      for (int i = threadIdx.x; i < kTile * (D / 8); i += blockDim.x) {
        const int key = i / (D / 8), piece = i - key * (D / 8), j = tile + key;
        const bool ok = j < n_max;
        const int blk = ok ? table[j / B] : table[0], slot = ok ? j % B : 0;
        copy16_async(kd + key * S + piece * 8, kv_slot<const T>(kv, blk, layer, 0, g, slot) + piece * 8, ok);
        copy16_async(vd + key * S + piece * 8, kv_slot<const T>(kv, blk, layer, 1, g, slot) + piece * 8, ok);
      }
    }
    copy_commit();
  };
  // The step metadata above was uploaded before the step. When this group is its sequence's first of the step (a
  // decode token always is), the keys before its first token were written by earlier steps, so a first tile of
  // only those loads while the previous kernel finishes; the keys of a later group's predecessors are written in
  // this step (by the RoPE kernel, or the decode chain's QKV GEMM), as q is.
  const bool first_of_seq = t0 == 0 || tokens.token_seq[t0 - 1] != tokens.token_seq[t0];
  const bool prestaged = first_of_seq && c_begin < c_end && c_begin * chunk + kTile <= n_min - 1;
  if (prestaged) stage(c_begin * chunk, 0);
  // After its own first tile: the weights the next GEMMs stream first (kernels.hpp), while HBM has little else.
  if (prefetch.max_keys == 0 || n_max <= prefetch.max_keys)
    for (const L2Prefetch& p : prefetch.part) prefetch_l2_share(p, blockIdx.x, gridDim.x);
  griddep_enter();
  mark.release();
  const bool warp_active = warp * 16 < rows;
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int ri = i & 1, col = kk * 16 + 2 * tq + (i >> 1) * 8;
      qf[kk][i] = r_ok[ri] ? load32(qkv + r_token[ri] * row_stride + size_t(r_head[ri]) * D + col) : 0u;
    }
  if (!split) {
    for (int i = threadIdx.x; i < kRows * A; i += blockDim.x) run_acc[i] = 0.f;
    for (int i = threadIdx.x; i < kRows; i += blockDim.x) run_m[i] = -INFINITY, run_l[i] = 0.f;
  }

  // The item's tiles, chunk after chunk, alternate between the two buffers: while one is used, the next tile (of
  // this chunk, else the first of the item's next chunk) loads into the other.
  if (!prestaged && c_begin < c_end) stage(c_begin * chunk, 0);
  int buf = 0;
  for (int c = c_begin; c < c_end; c += c_step) {
    const int k0 = c * chunk, k1 = min(k0 + chunk, n_max);
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
    float o[D / 8][4];
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;

    for (int tile = k0; tile < k1; tile += kTile, buf ^= 1) {
      const int next = tile + kTile < k1 ? tile + kTile : (c + c_step < c_end ? (c + c_step) * chunk : -1);
      if (next >= 0) {
        stage(next, buf ^ 1);  // the other buffer: the barrier that ended the last tile freed it
        copy_wait<1>();
      } else {
        copy_wait<0>();
      }
      __syncthreads();
      if (c == c_begin && tile == k0) mark.ready();
      if (warp_active) {
        mark.tile_phase(0, 0.f);
        const T* k_t = k_s + buf * kTile * S;
        const T* v_t = v_s + buf * kTile * S;
        float s[kTile / 8][4];
#pragma unroll
        for (int j = 0; j < kTile / 8; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
        if constexpr (D / 16 % 2 == 0) {
          // Dimensions outside, keys inside: back-to-back MMAs add to different s[j] (one into the same s[j] waits
          // for the one before), and each s[j] still sums its dimensions in ascending order. K rows j * 8 + 0..7;
          // matrix q of a load is dimensions kk * 16 + 8 q: the B fragments of kk and kk + 1.
#pragma unroll
          for (int kk = 0; kk < D / 16; kk += 2) {
            uint32_t b[kTile / 8][4];
#pragma unroll
            for (int j = 0; j < kTile / 8; ++j)
              ldmatrix_x4(b[j], k_t + (j * 8 + (lane & 7)) * S + (lane >> 3) * 8 + kk * 16);
#pragma unroll
            for (int j = 0; j < kTile / 8; ++j) mma(s[j], qf[kk], b[j][0], b[j][1], T{});
#pragma unroll
            for (int j = 0; j < kTile / 8; ++j) mma(s[j], qf[kk + 1], b[j][2], b[j][3], T{});
          }
        } else {
#pragma unroll
          for (int j = 0; j < kTile / 8; ++j) {
            const T* krow2 = k_t + (j * 8 + (lane & 7)) * S + ((lane >> 3) & 1) * 8;
#pragma unroll
            for (int kk = 0; kk < D / 16; ++kk) {
              uint32_t b[2];
              ldmatrix_x2(b, krow2 + kk * 16);
              mma(s[j], qf[kk], b[0], b[1], T{});
            }
          }
        }
        mark.tile_phase(1, s[kTile / 8 - 1][3]);
        // The online softmax of each of the lane's two rows (a quad of lanes shares a row), in base 2 with the
        // scale folded in: p = 2^(s * scale_log2 - m), m the running max of s * scale_log2. Only a tile that
        // reaches past the group's first token needs the causal mask. A warp of at most 8 rows (a decode token's
        // query heads) skips its padding rows 8-15, whose P is 0: the softmax is a tile's longest chain.
        const bool masked = tile + kTile > n_min;
        const bool upper_rows = warp * 16 + 8 < rows;
        float corr[2];
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          if (i == 1 && !upper_rows) {
#pragma unroll
            for (int j = 0; j < kTile / 8; ++j) s[j][2] = s[j][3] = 0.f;
            corr[1] = 1.f;
            continue;
          }
          if (masked) {
#pragma unroll
            for (int j = 0; j < kTile / 8; ++j)
#pragma unroll
              for (int e = 0; e < 2; ++e)
                if (tile + j * 8 + 2 * tq + e >= r_n[i]) s[j][2 * i + e] = -INFINITY;
          }
          float mx = -INFINITY;
#pragma unroll
          for (int j = 0; j < kTile / 8; ++j) mx = fmaxf(mx, fmaxf(s[j][2 * i], s[j][2 * i + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          const float m_new = fmaxf(m[i], __fmul_rn(mx, scale_log2));
          const float m_ref = m_new == -INFINITY ? 0.f : m_new;  // a row with no keys yet: every p is 0
          float sum = 0.f;
#pragma unroll
          for (int j = 0; j < kTile / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              float& v = s[j][2 * i + e];
              v = exp2_ftz(__fmaf_rn(v, scale_log2, -m_ref));
              sum += v;
            }
          sum += __shfl_xor_sync(0xffffffffu, sum, 1);
          sum += __shfl_xor_sync(0xffffffffu, sum, 2);
          corr[i] = m_new == -INFINITY ? 1.f : (m[i] == -INFINITY ? 0.f : exp2_ftz(__fsub_rn(m[i], m_new)));
          l[i] = __fmaf_rn(l[i], corr[i], sum);
          m[i] = m_new;
        }
#pragma unroll
        for (int n = 0; n < D / 8; ++n) o[n][0] *= corr[0], o[n][1] *= corr[0], o[n][2] *= corr[1], o[n][3] *= corr[1];
#pragma unroll
        for (int kk = 0; kk < kTile / 16; ++kk) {
          const uint32_t a[4] = {pack_rounded<T>(s[2 * kk][0], s[2 * kk][1]),
                                 pack_rounded<T>(s[2 * kk][2], s[2 * kk][3]),
                                 pack_rounded<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                 pack_rounded<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
          // V rows kk * 16 + 0..15, transposed: matrix q is keys + 8 (q & 1), dimensions n * 8 + 8 (q >> 1), so
          // one load gives the B fragments of n and n + 1.
          const T* v0 = v_t + (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * S + (lane >> 4) * 8;
#pragma unroll
          for (int n = 0; n < D / 8; n += 2) {
            uint32_t b[4];
            ldmatrix_x4_trans(b, v0 + n * 8);
            mma(o[n], a, b[0], b[1], T{});
            mma(o[n + 1], a, b[2], b[3], T{});
          }
        }
        mark.tile_phase(2, o[D / 8 - 1][3]);
      }
      __syncthreads();  // every warp is done with this buffer: the next tile may restage it
    }
    if (!warp_active) continue;
    // The chunk's partial of each of the lane's rows that has keys in it: written out, or combined, with its max
    // in natural-log units as attention_combine.cuh has it.
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const bool has = r_ok[i] && k0 < r_n[i];
      const int r = warp * 16 + gid + 8 * i;
      const float m_nat = __fmul_rn(m[i], kLn2);
      if (split) {
        if (!has) continue;
        float* part = partials + (static_cast<size_t>(item.partial + c) * num_heads + r_head[i]) * kPartial;
#pragma unroll
        for (int n = 0; n < D / 8; ++n)
          *reinterpret_cast<float2*>(part + n * 8 + 2 * tq) = make_float2(o[n][2 * i], o[n][2 * i + 1]);
        if (tq == 0) part[D] = m_nat, part[D + 1] = l[i];
      } else {
        float run = has ? run_m[r] : 0.f;
        __syncwarp();  // every lane of the quad has read the old max before one of them writes it
        if (!has) continue;
        const CombineFactors f = combine_factors(run, m_nat);
        float* acc = run_acc + r * A + 2 * tq;
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
          float2& v = *reinterpret_cast<float2*>(acc + n * 8);
          const float2 old = v;
          v = make_float2(combine_value(old.x, o[n][2 * i], f), combine_value(old.y, o[n][2 * i + 1], f));
        }
        if (tq == 0) run_m[r] = run, run_l[r] = combine_value(run_l[r], l[i], f);
      }
    }
    __syncwarp();
  }
  mark.computed();
  if (split) {
    // The last of a split token's items to finish combines its partials, for this KV head's query heads.
    __shared__ bool last;
    __threadfence();
    __syncthreads();
    unsigned* counter = split_counters + static_cast<size_t>(t0) * kvh + g;
    if (threadIdx.x == 0) last = atomicAdd(counter, 1u) == static_cast<unsigned>(item.stride - 1);
    __syncthreads();
    mark.work_done();
    if (!last) {
      mark.record(TimelineKind::kAttention, layer);
      return;
    }
    __threadfence();
    combine_token_heads_by_warp<T, D>(partials, item.partial, c_end, num_heads, g * hpg, hpg,
                                      out + static_cast<size_t>(t0) * num_heads * D, reinterpret_cast<float*>(smem));
    if (threadIdx.x == 0) *counter = 0;
    mark.record(TimelineKind::kAttention, layer);
    return;
  }
  if (!warp_active) return;
  __syncwarp();
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    if (!r_ok[i]) continue;
    const int r = warp * 16 + gid + 8 * i;
    const float inv = output_scale(run_l[r]);
    const float* acc = run_acc + r * A + 2 * tq;
    T* dst = out + static_cast<size_t>(r_token[i]) * num_heads * D + size_t(r_head[i]) * D + 2 * tq;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const float2 v = *reinterpret_cast<const float2*>(acc + n * 8);
      *reinterpret_cast<uint32_t*>(dst + n * 8) = pack_rounded<T>(__fmul_rn(v.x, inv), __fmul_rn(v.y, inv));
    }
  }
  mark.record(TimelineKind::kAttention, layer);  // by thread 0, whose warp is active (a group has a row)
}

template <class T, int D>
void launch_items(const T* qkv, int num_items, int num_heads, const TokenLayout& tokens, const int32_t* group_first,
                  const AttentionWork* work, const KvLayout& kv, int layer, int chunk, T* out, float* partials,
                  unsigned* split_counters, const AttentionPrefetch& prefetch, cudaStream_t stream) {
  constexpr size_t bytes = Smem<D>::bytes();
  static const bool configured = [] {
    check_cuda(cudaFuncSetAttribute(tensor_core_attention_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    static_cast<int>(bytes)),
               "configuring the tensor-core attention kernel");
    return true;
  }();
  (void)configured;
  // 1/sqrt(D) * log2(e): the softmax runs in base 2.
  const float scale_log2 = static_cast<float>(1.4426950408889634 / sqrt(static_cast<double>(D)));
  launch_kernel(tensor_core_attention_kernel<T, D>, dim3(num_items * kv.num_kv_heads), dim3(kWarps * 32), bytes, stream,
                qkv, num_heads, tokens, group_first, work, kv, layer, scale_log2, chunk, out, partials,
                split_counters, prefetch);
}

template <class T>
void launch_for_head_dim(const T* qkv, int num_items, int num_heads, const TokenLayout& tokens,
                         const int32_t* group_first, const AttentionWork* work, const KvLayout& kv, int layer, int chunk,
                         T* out, float* partials, unsigned* split_counters, const AttentionPrefetch& prefetch,
                         cudaStream_t stream) {
  auto launch = [&](auto head_dim) {
    launch_items<T, decltype(head_dim)::value>(qkv, num_items, num_heads, tokens, group_first, work, kv, layer, chunk,
                                               out, partials, split_counters, prefetch, stream);
  };
  switch (kv.head_dim) {
    case 16: launch(std::integral_constant<int, 16>{}); break;
    case 32: launch(std::integral_constant<int, 32>{}); break;
    case 64: launch(std::integral_constant<int, 64>{}); break;
    default: launch(std::integral_constant<int, 128>{}); break;
  }
}

}  // namespace

bool tensor_core_attention_supports(int head_dim, int heads_per_kv_head) {
  return (head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128) && heads_per_kv_head >= 1 &&
         heads_per_kv_head <= kRows;
}

int tensor_core_attention_max_group(int heads_per_kv_head) { return std::max(1, kRows / heads_per_kv_head); }

void launch_tensor_core_attention(DType dt, const void* qkv, int num_items, int num_heads, const TokenLayout& tokens,
                                  const int32_t* group_first, const AttentionWork* work, const KvLayout& kv, int layer,
                                  int chunk, float* partials, unsigned* split_counters, void* out, cudaStream_t stream,
                                  const AttentionPrefetch& prefetch) {
  // No split tokens for the wrapper to combine: the items combine them.
  launch_attention_items(dt, qkv, out, num_items, tokens, nullptr, 0, chunk, num_heads, kv.head_dim, partials, stream,
                         [&](const auto* q, auto* o) {
                           launch_for_head_dim(q, num_items, num_heads, tokens, group_first, work, kv, layer, chunk, o,
                                               partials, split_counters, prefetch, stream);
                         });
}

}  // namespace lmrt::tm
