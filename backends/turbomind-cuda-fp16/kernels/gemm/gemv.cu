// Skinny GEMM for decode (a few rows of activations against a weight matrix): bandwidth-bound, so the kernel is
// built around streaming W once at full width. A warp owns kRows weight rows; each lane reads 16-byte pieces of
// them (piece p = lane + 32 i), keeps kUnroll pieces of each row in flight, and multiplies each piece by the same
// piece of every activation row, so W is read once whatever M is. The sum for one (m, n) runs in the same order
// for every M and every pairing of rows, so a token's result does not depend on its batch.
#include "../common.cuh"

namespace lmrt::tm {
namespace {

constexpr int kWarps = 8;
constexpr int kRows = 2;    // weight rows per warp: each activation piece loaded once serves both
constexpr int kUnroll = 4;  // pieces per row in flight per lane

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

template <class T, class Y, int M>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(const T* __restrict__ x, const T* __restrict__ w,
                                                           Y* __restrict__ y, int n, int k) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int n0 = (blockIdx.x * kWarps + warp) * kRows;
  if (n0 >= n) return;
  const int pieces = k / 8;
  const uint4* wr[kRows];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
    wr[r] = reinterpret_cast<const uint4*>(w + static_cast<size_t>(min(n0 + r, n - 1)) * k);
  float acc[kRows][M];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) acc[r][m] = 0.f;

  for (int p0 = lane; p0 < pieces; p0 += 32 * kUnroll) {
    uint4 wv[kRows][kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
#pragma unroll
      for (int r = 0; r < kRows; ++r) {
        const int p = p0 + 32 * u;
        wv[r][u] = p < pieces ? load_stream(wr[r] + p) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int p = p0 + 32 * u;
      if (p >= pieces) break;
#pragma unroll
      for (int m = 0; m < M; ++m) {
        const uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + static_cast<size_t>(m) * k) + p);
#pragma unroll
        for (int r = 0; r < kRows; ++r) acc[r][m] = dot8<T>(wv[r][u], xv, acc[r][m]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int m = 0; m < M; ++m) {
      const float v = warp_sum(acc[r][m]);
      if (lane == 0 && n0 + r < n) {
        if constexpr (sizeof(Y) == 4)
          y[static_cast<size_t>(m) * n + n0 + r] = v;
        else
          y[static_cast<size_t>(m) * n + n0 + r] = from_f<T>(v);
      }
    }
}

template <class T, class Y, int M>
void launch(const void* x, const void* w, void* y, int n, int k, cudaStream_t stream) {
  const int blocks = (n + kWarps * kRows - 1) / (kWarps * kRows);
  gemv_kernel<T, Y, M><<<blocks, kWarps * 32, 0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(w),
                                                           static_cast<Y*>(y), n, k);
}

template <class T, class Y>
void dispatch(int m, const void* x, const void* w, void* y, int n, int k, cudaStream_t stream) {
  switch (m) {
    case 1: launch<T, Y, 1>(x, w, y, n, k, stream); break;
    case 2: launch<T, Y, 2>(x, w, y, n, k, stream); break;
    case 3: launch<T, Y, 3>(x, w, y, n, k, stream); break;
    case 4: launch<T, Y, 4>(x, w, y, n, k, stream); break;
    case 5: launch<T, Y, 5>(x, w, y, n, k, stream); break;
    case 6: launch<T, Y, 6>(x, w, y, n, k, stream); break;
    case 7: launch<T, Y, 7>(x, w, y, n, k, stream); break;
    default: launch<T, Y, 8>(x, w, y, n, k, stream); break;
  }
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

}  // namespace

bool launch_gemv(DType dt, const void* x, const void* w, void* y, int m, int n, int k, bool y_fp32,
                 cudaStream_t stream) {
  if (m < 1 || m > kMaxGemvRows || n <= 0 || k <= 0 || k % 8 != 0 || !aligned16(x) || !aligned16(w)) return false;
  LMRT_DISPATCH_DTYPE(dt, T, {
    if (y_fp32)
      dispatch<T, float>(m, x, w, y, n, k, stream);
    else
      dispatch<T, T>(m, x, w, y, n, k, stream);
  });
  return true;
}

}  // namespace lmrt::tm
