// The tensor-parallel all-reduce's arithmetic: one kernel reads every rank's fp32 partial products (the same
// device, or peers' memory through unified addressing) and writes their sum, rounded once, to every rank (or adds
// it to every rank's residual stream).
#include <algorithm>

#include "../common.cuh"

namespace lmrt::tm {
namespace {

template <class T>
__global__ void sum_ranks_kernel(RankBuffers bufs, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float s = 0.f;
    for (int r = 0; r < bufs.count; ++r) s += bufs.in[r][i];
    const T v = from_f<T>(s);
    if (bufs.add_to_residual)
      for (int r = 0; r < bufs.count; ++r) static_cast<float*>(bufs.out[r])[i] += to_f(v);
    else
      for (int r = 0; r < bufs.count; ++r) static_cast<T*>(bufs.out[r])[i] = v;
  }
}

}  // namespace

void launch_sum_ranks(DType dt, const RankBuffers& bufs, size_t n, cudaStream_t stream) {
  if (n == 0 || bufs.count <= 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 2048));
  // A plain launch: it follows event waits on other ranks' streams, which programmatic launch would not order.
  LMRT_DISPATCH_DTYPE(dt, T, sum_ranks_kernel<T><<<blocks, 256, 0, stream>>>(bufs, n));
}

}  // namespace lmrt::tm
