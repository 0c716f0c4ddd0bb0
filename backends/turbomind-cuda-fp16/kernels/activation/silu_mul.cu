// SiLU-and-multiply over the fused gate/up GEMM output: [T][gate I | up I] -> [T][I].
#include "../common.cuh"
#include "../launch.cuh"

namespace lmrt::tm {
namespace {

template <class T>
__global__ void silu_mul_kernel(const T* gate_up, size_t n, int inter, T* out) {
  griddep_enter();
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const size_t t = i / inter, c = i % inter;
    const float g = to_f(gate_up[t * 2 * inter + c]);
    const float u = to_f(gate_up[t * 2 * inter + inter + c]);
    out[i] = from_f<T>(g / (1.f + expf(-g)) * u);
  }
}

}  // namespace

void launch_silu_mul(DType dt, const void* gate_up, int num_tokens, int inter, void* out, cudaStream_t stream) {
  const size_t n = size_t(num_tokens) * inter;
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 4096));
  LMRT_DISPATCH_DTYPE(dt, T, launch_kernel(silu_mul_kernel<T>, dim3(blocks), dim3(256), 0, stream,
                                           static_cast<const T*>(gate_up), n, inter, static_cast<T*>(out)));
}

}  // namespace lmrt::tm
