// SiLU-and-multiply over the fused gate/up GEMM output: [T][gate I | up I] -> [T][I].
#include "../common.cuh"
#include "../launch.cuh"
#include "silu_mul.cuh"

namespace lmrt::tm {
namespace {

// Eight elements a thread, in 16-byte loads and stores (I a multiple of 8): the prompt's activations are tens of
// megabytes, and 2-byte accesses left this kernel at under half the memory bandwidth.
template <class T>
__global__ void silu_mul8_kernel(const T* gate_up, size_t n8, int inter, T* out) {
  griddep_enter();
  const int inter8 = inter / 8;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n8; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter8, c = (i - t * inter8) * 8;
    float g[8], u[8];
    load8(gate_up + t * 2 * inter + c, g);
    load8(gate_up + t * 2 * inter + inter + c, u);
    uint4 packed;
    T* o = reinterpret_cast<T*>(&packed);
#pragma unroll
    for (int e = 0; e < 8; ++e) o[e] = from_f<T>(silu_times(g[e], u[e]));
    *reinterpret_cast<uint4*>(out + i * 8) = packed;
  }
}

template <class T>
__global__ void silu_mul_kernel(const T* gate_up, size_t n, int inter, T* out) {
  griddep_enter();
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter, c = i % inter;
    out[i] = from_f<T>(silu_times(to_f(gate_up[t * 2 * inter + c]), to_f(gate_up[t * 2 * inter + inter + c])));
  }
}

}  // namespace

void launch_silu_mul(DType dt, const void* gate_up, int num_tokens, int inter, void* out, cudaStream_t stream) {
  const size_t n = size_t(num_tokens) * inter;
  if (n == 0) return;
  const bool vec = inter % 8 == 0;
  const size_t per_thread = vec ? 8 : 1;
  const int blocks = static_cast<int>(std::min<size_t>((n / per_thread + 255) / 256, 4096));
  LMRT_DISPATCH_DTYPE(dt, T, {
    if (vec)
      launch_kernel(silu_mul8_kernel<T>, dim3(blocks), dim3(256), 0, stream, static_cast<const T*>(gate_up), n / 8,
                    inter, static_cast<T*>(out));
    else
      launch_kernel(silu_mul_kernel<T>, dim3(blocks), dim3(256), 0, stream, static_cast<const T*>(gate_up), n, inter,
                    static_cast<T*>(out));
  });
}

}  // namespace lmrt::tm
