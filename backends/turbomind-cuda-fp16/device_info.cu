#include <cuda_runtime.h>

#include "device_info.hpp"

namespace lmrt::cuda {
namespace {

__global__ void iota_kernel(int* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = i * 3 + 1;
}

std::string describe(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

}  // namespace

DeviceQuery query_devices() {
  DeviceQuery q;
  cudaRuntimeGetVersion(&q.runtime_version);
  cudaDriverGetVersion(&q.driver_version);
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    q.error = describe(e);
    cudaGetLastError();
    return q;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.index = i;
    d.name = prop.name;
    d.sm_major = prop.major;
    d.sm_minor = prop.minor;
    d.total_bytes = prop.totalGlobalMem;
    d.multiprocessors = prop.multiProcessorCount;
    if (cudaSetDevice(i) == cudaSuccess) cudaMemGetInfo(&d.free_bytes, &d.total_bytes);
    q.devices.push_back(d);
  }
  if (q.devices.empty()) q.error = "no CUDA device found";
  return q;
}

bool smoke_test(int device, std::string* error) {
  constexpr int n = 1024;
  int* d = nullptr;
  int h[n];
  cudaError_t e = cudaSetDevice(device);
  if (e == cudaSuccess) e = cudaMalloc(&d, n * sizeof(int));
  if (e == cudaSuccess) {
    iota_kernel<<<(n + 255) / 256, 256>>>(d, n);
    e = cudaGetLastError();
  }
  if (e == cudaSuccess) e = cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost);
  if (d) cudaFree(d);
  if (e != cudaSuccess) {
    if (error) *error = describe(e);
    return false;
  }
  for (int i = 0; i < n; ++i)
    if (h[i] != i * 3 + 1) {
      if (error) *error = "kernel produced a wrong value";
      return false;
    }
  return true;
}

}  // namespace lmrt::cuda
