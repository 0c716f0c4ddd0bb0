// CUDA and cuBLAS errors as lmrt statuses: out-of-memory becomes LMRT_STATUS_OUT_OF_MEMORY,
// everything else LMRT_STATUS_DEVICE_ERROR, with the failing call and the driver's words.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "lmrt/plugin.hpp"

namespace lmrt::tm {

inline constexpr const char* kEngineName = "turbomind-cuda-fp16";

[[noreturn]] inline void throw_cuda(cudaError_t e, const char* what) {
  const lmrt_status_code code = e == cudaErrorMemoryAllocation ? LMRT_STATUS_OUT_OF_MEMORY : LMRT_STATUS_DEVICE_ERROR;
  throw lmrt::plugin::Error(code, std::string(kEngineName) + ": " + what + " failed: " + cudaGetErrorName(e) + ": " +
                                      cudaGetErrorString(e));
}

inline void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so the engine stays usable where the device allows
    throw_cuda(e, what);
  }
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  const lmrt_status_code code = s == CUBLAS_STATUS_ALLOC_FAILED ? LMRT_STATUS_OUT_OF_MEMORY : LMRT_STATUS_DEVICE_ERROR;
  throw lmrt::plugin::Error(code, std::string(kEngineName) + ": " + what + " failed: cuBLAS status " +
                                      cublasGetStatusName(s) + ": " + cublasGetStatusString(s));
}

inline std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace lmrt::tm
