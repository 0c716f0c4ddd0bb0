// Owning device and pinned-host buffers. Allocation failures throw OUT_OF_MEMORY with the size asked
// for and what the device had free, so an operator can act on the message.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "cuda_check.hpp"

namespace lmrt::tm {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(size_t bytes, const char* what) { allocate(bytes, what); }
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) reset(), ptr_ = std::exchange(o.ptr_, nullptr), bytes_ = std::exchange(o.bytes_, 0);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void allocate(size_t bytes, const char* what) {
    reset();
    if (bytes == 0) return;
    cudaError_t e = cudaMalloc(&ptr_, bytes);
    if (e != cudaSuccess) {
      cudaGetLastError();
      ptr_ = nullptr;
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw lmrt::plugin::Error(e == cudaErrorMemoryAllocation ? LMRT_STATUS_OUT_OF_MEMORY : LMRT_STATUS_DEVICE_ERROR,
                                std::string(kEngineName) + ": " + what + " needs " + mib(bytes) + " of device memory; " +
                                    mib(free_b) + " of " + mib(total_b) + " is free (" + cudaGetErrorString(e) + ")");
    }
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  void* get() const noexcept { return ptr_; }
  template <class T>
  T* as() const noexcept { return static_cast<T*>(ptr_); }
  size_t bytes() const noexcept { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Page-locked host memory, for the per-step uploads and the sampled ids coming back.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer() { reset(); }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void ensure(size_t bytes) {
    if (bytes <= bytes_) return;
    reset();
    check_cuda(cudaMallocHost(&ptr_, bytes), "cudaMallocHost (step staging)");
    bytes_ = bytes;
  }
  void reset() noexcept {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  char* get() const noexcept { return static_cast<char*>(ptr_); }
  size_t bytes() const noexcept { return bytes_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace lmrt::tm
