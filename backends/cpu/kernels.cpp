#include "kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "thread_pool.hpp"

namespace lmrt::cpu {
namespace {

constexpr size_t kLanes = 8;

// Eight fp32 lanes (GCC/Clang vector extension): lane l accumulates the products
// of elements i with i % 8 == l, exactly as a scalar loop over acc[8] would, but
// without relying on the auto-vectoriser (which shuffles badly for 4 rows at once).
// On x86-64-v1 it lowers to two SSE registers, on the AVX2 clone to one; the
// arithmetic is lane-wise IEEE either way, so every build computes the same bits.
typedef float v8f __attribute__((vector_size(32)));

inline v8f load8(const float* p) noexcept {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float reduce_lanes(v8f acc, float tail) noexcept {
  return (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))) + tail;
}

inline float dot_impl(const float* __restrict a, const float* __restrict b, size_t n) noexcept {
  v8f acc = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) acc += load8(a + i) * load8(b + i);
  float tail = 0.f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return reduce_lanes(acc, tail);
}

// Four dot products of four weight rows with one x row. Each row's arithmetic is
// exactly that of dot(): same lanes, same tail, same reduction.
inline void dot4(const float* __restrict w0, const float* __restrict w1, const float* __restrict w2,
                 const float* __restrict w3, const float* __restrict x, size_t n, float* out) noexcept {
  v8f a0 = {}, a1 = {}, a2 = {}, a3 = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v8f xv = load8(x + i);
    a0 += load8(w0 + i) * xv;
    a1 += load8(w1 + i) * xv;
    a2 += load8(w2 + i) * xv;
    a3 += load8(w3 + i) * xv;
  }
  float t0 = 0.f, t1 = 0.f, t2 = 0.f, t3 = 0.f;
  for (; i < n; ++i) {
    t0 += w0[i] * x[i];
    t1 += w1[i] * x[i];
    t2 += w2[i] * x[i];
    t3 += w3[i] * x[i];
  }
  out[0] = reduce_lanes(a0, t0);
  out[1] = reduce_lanes(a1, t1);
  out[2] = reduce_lanes(a2, t2);
  out[3] = reduce_lanes(a3, t3);
}

// Rows [r_begin, r_end) for every token. Cloned for AVX2 where the CPU has it
// (no FMA: products and sums stay separately rounded, so the clone is bit-identical).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void matmul_rows(const float* x, size_t num_tokens, size_t ldx, const float* w, const float* bias, size_t r_begin,
                 size_t r_end, size_t in, float* y, size_t ldy) {
  constexpr size_t kTokenTile = 8;  // keeps a few x rows hot while a weight block streams by
  for (size_t t0 = 0; t0 < num_tokens; t0 += kTokenTile) {
    const size_t t1 = std::min(num_tokens, t0 + kTokenTile);
    size_t r = r_begin;
    for (; r + 4 <= r_end; r += 4) {
      const float* wr = w + r * in;
      for (size_t t = t0; t < t1; ++t) {
        float out[4];
        dot4(wr, wr + in, wr + 2 * in, wr + 3 * in, x + t * ldx, in, out);
        float* yt = y + t * ldy + r;
        for (int k = 0; k < 4; ++k) yt[k] = bias ? out[k] + bias[r + k] : out[k];
      }
    }
    for (; r < r_end; ++r)
      for (size_t t = t0; t < t1; ++t) {
        const float v = dot_impl(w + r * in, x + t * ldx, in);
        y[t * ldy + r] = bias ? v + bias[r] : v;
      }
  }
}

// Double accumulation in the same 8 lanes (lane = index mod 8), kept as two
// 4-lane halves: GCC lowers 4-double vectors well on SSE2 and AVX2 alike.
typedef float v4f __attribute__((vector_size(16)));
typedef double v4d __attribute__((vector_size(32)));

struct Acc8d {
  v4d lo = {}, hi = {};  // lanes 0-3 and 4-7
};

__attribute__((always_inline)) inline v4d load4d(const float* p) noexcept {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, v4d);
}

__attribute__((always_inline)) inline double reduce_lanes(const Acc8d& a, double tail) noexcept {
  return (((a.lo[0] + a.lo[1]) + (a.lo[2] + a.lo[3])) + ((a.hi[0] + a.hi[1]) + (a.hi[2] + a.hi[3]))) + tail;
}

// Products of floats are exact in double; only the sums round.
__attribute__((always_inline)) inline void dot4_f64(const float* __restrict w0, const float* __restrict w1,
                                                    const float* __restrict w2, const float* __restrict w3,
                                                    const float* __restrict x, size_t n, double* out) noexcept {
  Acc8d a0, a1, a2, a3;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const v4d xl = load4d(x + i), xh = load4d(x + i + 4);
    a0.lo += load4d(w0 + i) * xl, a0.hi += load4d(w0 + i + 4) * xh;
    a1.lo += load4d(w1 + i) * xl, a1.hi += load4d(w1 + i + 4) * xh;
    a2.lo += load4d(w2 + i) * xl, a2.hi += load4d(w2 + i + 4) * xh;
    a3.lo += load4d(w3 + i) * xl, a3.hi += load4d(w3 + i + 4) * xh;
  }
  double t0 = 0., t1 = 0., t2 = 0., t3 = 0.;
  for (; i < n; ++i) {
    const double xi = x[i];
    t0 += double(w0[i]) * xi;
    t1 += double(w1[i]) * xi;
    t2 += double(w2[i]) * xi;
    t3 += double(w3[i]) * xi;
  }
  out[0] = reduce_lanes(a0, t0);
  out[1] = reduce_lanes(a1, t1);
  out[2] = reduce_lanes(a2, t2);
  out[3] = reduce_lanes(a3, t3);
}

__attribute__((always_inline)) inline double dot_f64(const float* __restrict a, const float* __restrict b,
                                                     size_t n) noexcept {
  Acc8d acc;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    acc.lo += load4d(a + i) * load4d(b + i);
    acc.hi += load4d(a + i + 4) * load4d(b + i + 4);
  }
  double tail = 0.;
  for (; i < n; ++i) tail += double(a[i]) * b[i];
  return reduce_lanes(acc, tail);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void matmul_rows_f64(const float* x, size_t num_tokens, size_t ldx, const float* w, size_t r_begin, size_t r_end,
                     size_t in, double* y, size_t ldy) {
  constexpr size_t kTokenTile = 8;
  for (size_t t0 = 0; t0 < num_tokens; t0 += kTokenTile) {
    const size_t t1 = std::min(num_tokens, t0 + kTokenTile);
    size_t r = r_begin;
    for (; r + 4 <= r_end; r += 4) {
      const float* wr = w + r * in;
      for (size_t t = t0; t < t1; ++t) dot4_f64(wr, wr + in, wr + 2 * in, wr + 3 * in, x + t * ldx, in, y + t * ldy + r);
    }
    for (; r < r_end; ++r)
      for (size_t t = t0; t < t1; ++t) y[t * ldy + r] = dot_f64(w + r * in, x + t * ldx, in);
  }
}

// Row blocks for `rows` outputs: multiples of 4 starting at multiples of 4, so
// whether a row is computed four at a time depends on the weight's shape only.
// Small products get fewer tasks: a task should be worth more than handing it out.
size_t row_block(const ThreadPool& pool, size_t rows, size_t in, size_t num_tokens) {
  constexpr size_t kMinTaskFlops = 1 << 16;
  const size_t work = rows * in * num_tokens;
  const size_t tasks = std::clamp<size_t>(work / kMinTaskFlops, 1, static_cast<size_t>(pool.size()) * 4);
  return ((rows + tasks - 1) / tasks + 3) / 4 * 4;
}

}  // namespace

float dot(const float* __restrict a, const float* __restrict b, size_t n) noexcept { return dot_impl(a, b, n); }

void matmul(ThreadPool& pool, const float* x, size_t num_tokens, size_t ldx, const float* w, const float* bias,
            size_t rows, size_t in, float* y, size_t ldy) {
  const size_t block = row_block(pool, rows, in, num_tokens);
  const size_t num_blocks = (rows + block - 1) / block;
  pool.parallel_for(num_blocks, [&](size_t b) {
    const size_t r_begin = b * block, r_end = std::min(rows, r_begin + block);
    matmul_rows(x, num_tokens, ldx, w, bias, r_begin, r_end, in, y, ldy);
  });
}

void matmul_f64(ThreadPool& pool, const float* x, size_t num_tokens, size_t ldx, const float* w, size_t rows,
                size_t in, double* y, size_t ldy) {
  const size_t block = row_block(pool, rows, in, num_tokens);
  const size_t num_blocks = (rows + block - 1) / block;
  pool.parallel_for(num_blocks, [&](size_t b) {
    const size_t r_begin = b * block, r_end = std::min(rows, r_begin + block);
    matmul_rows_f64(x, num_tokens, ldx, w, r_begin, r_end, in, y, ldy);
  });
}

void rms_norm(const float* x, const float* weight, size_t n, float eps, float* out) noexcept {
  double sum_sq = 0.0;
  for (size_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (size_t i = 0; i < n; ++i) out[i] = weight[i] * (x[i] * inv);
}

void swiglu(const float* gate, const float* up, size_t n, float* out) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = (g / (1.0f + std::exp(-g))) * up[i];
  }
}

void add_rounded(float* y, const double* x, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) y[i] += static_cast<float>(x[i]);
}

}  // namespace lmrt::cpu
