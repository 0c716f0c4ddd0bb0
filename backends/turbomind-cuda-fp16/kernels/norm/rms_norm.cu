// RMSNorm fused with the residual add: the residual stream x is fp32, the normalized output is
// the activation dtype (the next GEMM's input). One block per row.
#include "../common.cuh"
#include "../launch.cuh"

namespace lmrt::tm {
namespace {

// Each thread keeps its elements (at most kPerThread of them) in registers between the sum of squares and the
// output, and loads the weights before the reduction, so a row costs one round of loads.
constexpr int kPerThread = kMaxNormHidden / 1024;

template <class T>
__global__ void add_rms_norm_kernel(float* x, const T* delta, const T* weight, const int32_t* row_ids, int hidden,
                                    float eps, T* out) {
  __shared__ float scratch[32];
  const int k = blockIdx.x;
  const int r = row_ids ? row_ids[k] : k;
  griddep_enter();
  float* xr = x + static_cast<size_t>(r) * hidden;
  const T* dr = delta ? delta + static_cast<size_t>(r) * hidden : nullptr;
  float v[kPerThread], wv[kPerThread];
  float ss = 0.f;
#pragma unroll
  for (int j = 0; j < kPerThread; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    v[j] = 0.f, wv[j] = 0.f;
    if (i >= hidden) continue;
    v[j] = xr[i];
    if (dr) v[j] += to_f(dr[i]);
    wv[j] = to_f(weight[i]);
  }
#pragma unroll
  for (int j = 0; j < kPerThread; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i >= hidden) continue;
    if (dr) xr[i] = v[j];
    ss += v[j] * v[j];
  }
  ss = block_reduce(ss, scratch, [](float a, float b) { return a + b; });
  const float inv = 1.f / sqrtf(ss / static_cast<float>(hidden) + eps);
  T* o = out + static_cast<size_t>(k) * hidden;
#pragma unroll
  for (int j = 0; j < kPerThread; ++j) {
    const int i = threadIdx.x + j * blockDim.x;
    if (i < hidden) o[i] = from_f<T>(v[j] * inv * wv[j]);
  }
}

}  // namespace

void launch_add_rms_norm(DType dt, float* x, const void* delta, const void* weight, const int32_t* row_ids, int rows,
                         int hidden, float eps, void* out, cudaStream_t stream) {
  if (rows <= 0) return;
  // hidden <= kMaxNormHidden: the model loader refuses larger ones.
  const int threads = std::min(1024, std::max(32, ((hidden + kPerThread - 1) / kPerThread + 31) / 32 * 32));
  LMRT_DISPATCH_DTYPE(dt, T, launch_kernel(add_rms_norm_kernel<T>, dim3(rows), dim3(threads), 0, stream, x,
                                           static_cast<const T*>(delta), static_cast<const T*>(weight), row_ids, hidden,
                                           eps, static_cast<T*>(out)));
}

}  // namespace lmrt::tm
