// Dense GEMMs with fp32 accumulation: skinny ones (decode) through gemv.cu, the rest through cuBLAS.
// lmrt keeps PyTorch's row-major [out_features, in_features] weights; in cuBLAS's column-major terms
// Y^T = W * X^T, so W is the transposed A operand and X the plain B operand.
#include "../../cuda_check.hpp"
#include "../kernels.hpp"

namespace lmrt::tm {

void gemm(const GemmContext& ctx, DType dt, const void* x, const void* w, void* y, int m, int n, int k, bool y_fp32) {
  if (m <= 0 || n <= 0) return;
  if (m <= ctx.gemv_rows && m <= kMaxGemvRows) {
    GemvArgs a;
    a.x = x, a.y = y, a.m = m, a.n = n, a.k = k;
    a.output = y_fp32 ? GemvOutput::kStoreF32 : GemvOutput::kStore;
    a.tiles_taken = ctx.gemv_tiles_taken;
    if (launch_gemv(dt, w, a, ctx.stream)) return;
  }
  const cudaDataType_t ab = dt == DType::kF16 ? CUDA_R_16F : CUDA_R_16BF;
  const cudaDataType_t c = y_fp32 ? CUDA_R_32F : ab;
  const float alpha = 1.f, beta = 0.f;
  check_cublas(cublasGemmEx(ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &alpha, w, ab, k, x, ab, k, &beta, y, c, n,
                            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
               "cublasGemmEx");
}

}  // namespace lmrt::tm
