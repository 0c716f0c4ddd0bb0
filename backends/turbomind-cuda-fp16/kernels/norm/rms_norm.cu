// RMSNorm fused with the residual add: the residual stream x is fp32, the normalized output is
// the activation dtype (the next GEMM's input). One block per row.
#include "../common.cuh"

namespace lmrt::tm {
namespace {

template <class T>
__global__ void add_rms_norm_kernel(float* x, const T* delta, const T* weight, const int32_t* row_ids, int hidden,
                                    float eps, T* out) {
  __shared__ float scratch[32];
  const int k = blockIdx.x;
  const int r = row_ids ? row_ids[k] : k;
  float* xr = x + static_cast<size_t>(r) * hidden;
  const T* dr = delta ? delta + static_cast<size_t>(r) * hidden : nullptr;
  float ss = 0.f;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
    float v = xr[i];
    if (dr) v += to_f(dr[i]), xr[i] = v;
    ss += v * v;
  }
  ss = block_reduce(ss, scratch, [](float a, float b) { return a + b; });
  const float inv = 1.f / sqrtf(ss / static_cast<float>(hidden) + eps);
  T* o = out + static_cast<size_t>(k) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) o[i] = from_f<T>(xr[i] * inv * to_f(weight[i]));
}

}  // namespace

void launch_add_rms_norm(DType dt, float* x, const void* delta, const void* weight, const int32_t* row_ids, int rows,
                         int hidden, float eps, void* out, cudaStream_t stream) {
  if (rows <= 0) return;
  const int threads = hidden >= 1024 ? 1024 : ((hidden + 31) / 32) * 32;
  LMRT_DISPATCH_DTYPE(dt, T, add_rms_norm_kernel<T><<<rows, threads, 0, stream>>>(
                                 x, static_cast<const T*>(delta), static_cast<const T*>(weight), row_ids, hidden, eps,
                                 static_cast<T*>(out)));
}

}  // namespace lmrt::tm
