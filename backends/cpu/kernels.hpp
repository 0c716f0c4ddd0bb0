// The cpu engine's numeric kernels: fp32, IEEE (no fast-math, no FMA contraction),
// and with an operation order per output element that depends only on the
// element's own inputs, never on how many tokens or sequences are in the batch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lmrt::cpu {

class ThreadPool;

// The dot product every kernel uses: 8 interleaved partial sums (lanes i % 8),
// a scalar tail, then a fixed pairwise reduction. SIMD without reassociation.
float dot(const float* a, const float* b, size_t n) noexcept;

// Y[t * ldy + r] = dot(W row r, X row t) (+ bias[r]) for t < num_tokens, r < rows.
// W is [rows, in] row-major, X is [num_tokens, in] with row stride ldx.
// Parallel over blocks of rows; each weight row is read once per call.
void matmul(ThreadPool& pool, const float* x, size_t num_tokens, size_t ldx, const float* w, const float* bias,
            size_t rows, size_t in, float* y, size_t ldy);

// The same product with each dot product accumulated in double and Y in double:
// the row-parallel projections (wo, w2), whose per-rank partial sums are added
// across tensor-parallel ranks before rounding once to fp32. Products of two
// floats are exact in double, so how the sum is split between ranks changes only
// bits far below fp32 precision. Same lanes as dot(), same row blocking.
void matmul_f64(ThreadPool& pool, const float* x, size_t num_tokens, size_t ldx, const float* w, size_t rows,
                size_t in, double* y, size_t ldy);

// out = x * (1 / sqrt(mean(x^2) + eps)) * weight, one row.
void rms_norm(const float* x, const float* weight, size_t n, float eps, float* out) noexcept;

// silu(gate) * up, elementwise.
void swiglu(const float* gate, const float* up, size_t n, float* out) noexcept;

// y += (float)x, elementwise: a double sum rounded once, then added in fp32.
void add_rounded(float* y, const double* x, size_t n) noexcept;

}  // namespace lmrt::cpu
