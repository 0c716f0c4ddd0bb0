// Token embedding gather into the fp32 residual stream, and weight dtype conversion at load.
#include "../common.cuh"
#include "../launch.cuh"
#include "../sampling/sampling.hpp"
#include "lmrt/abi.h"

namespace lmrt::tm {
namespace {

template <class T>
__global__ void embedding_kernel(const T* table, const int32_t* tokens, const int32_t* fed_rows,
                                 const SampleResult* fed, int vocab, int hidden, float* out) {
  const int t = blockIdx.x;
  const T* row = table + static_cast<size_t>(tokens[t]) * hidden;
  griddep_enter();
  // Rows fed from the previous step's samples (written by an earlier kernel: read after the wait).
  // An id outside the table (a sampler fault, which the host reports) reads row 0, not out of bounds.
  if (fed_rows && t < *fed_rows) {
    const int32_t id = fed[t].token;
    row = table + static_cast<size_t>(id >= 0 && id < vocab ? id : 0) * hidden;
  }
  float* dst = out + static_cast<size_t>(t) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) dst[i] = to_f(row[i]);
}

template <class T>
__global__ void convert_kernel(const void* src, uint32_t src_dtype, size_t n, T* dst) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    float v;
    if (src_dtype == LMRT_DTYPE_F32) v = static_cast<const float*>(src)[i];
    else if (src_dtype == LMRT_DTYPE_F16) v = __half2float(static_cast<const __half*>(src)[i]);
    else v = __bfloat162float(static_cast<const __nv_bfloat16*>(src)[i]);
    dst[i] = from_f<T>(v);
  }
}

}  // namespace

void launch_embedding(DType dt, const void* table, const int32_t* tokens, const int32_t* fed_rows,
                      const SampleResult* fed, int num_tokens, int vocab, int hidden, float* out, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  LMRT_DISPATCH_DTYPE(dt, T, launch_kernel(embedding_kernel<T>, dim3(num_tokens), dim3(256), 0, stream,
                                           static_cast<const T*>(table), tokens, fed_rows, fed, vocab, hidden, out));
}

void launch_convert(DType dt, const void* src, uint32_t src_dtype, size_t n, void* dst, cudaStream_t stream) {
  if (n == 0) return;
  const int blocks = static_cast<int>(std::min<size_t>((n + 255) / 256, 65536));
  LMRT_DISPATCH_DTYPE(dt, T, convert_kernel<T><<<blocks, 256, 0, stream>>>(src, src_dtype, n, static_cast<T*>(dst)));
}

}  // namespace lmrt::tm
