// Shared device helpers: element types, conversions, warp/block reductions.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>
#include <cstdint>

#include "../kernels/kernels.hpp"

namespace lmrt::tm {

// Programmatic dependent launch (sm_90+; kernels/launch.cuh): a kernel launched early waits here for the previous
// kernel on the stream to finish and its writes to be visible. Before it, a kernel may only read what no kernel of
// the step writes (weights, the step metadata uploaded before the step, KV that earlier steps wrote) and may write
// nothing. Without an early launch, and before sm_90, both are no-ops.
__device__ __forceinline__ void griddep_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
// Lets the next kernel on the stream start its blocks (they wait in griddep_wait until this one has finished).
__device__ __forceinline__ void griddep_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
// The usual prologue: wait for the previous kernel, then let the next one start.
__device__ __forceinline__ void griddep_enter() {
  griddep_wait();
  griddep_launch_dependents();
}

// Where slot `slot` of K (is_v 0) or V (1) of KV head g of pool block `block` starts (kernels/README.md has the
// layout). T const-qualified for reads.
template <class T>
__device__ __forceinline__ T* kv_slot(const KvLayout& kv, int block, int layer, int is_v, int g, int slot) {
  const size_t base =
      ((((size_t(block) * kv.num_layers + layer) * 2 + is_v) * kv.num_kv_heads + g) * kv.block_seq_len + slot) *
      kv.head_dim;
  return static_cast<T*>(kv.data) + base;
}

__device__ __forceinline__ float to_f(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f(__nv_bfloat16 v) { return __bfloat162float(v); }
template <class T>
__device__ __forceinline__ T from_f(float v);
template <>
__device__ __forceinline__ __half from_f<__half>(float v) { return __float2half_rn(v); }
template <>
__device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

// 16 bytes global -> shared without passing through registers; zeros when !ok (nothing is read then). A thread
// that waits for its own copies (copy_wait) may read them without a barrier; other threads' need __syncthreads.
__device__ __forceinline__ void copy16_async(void* dst, const void* src, bool ok) {
  const uint32_t d = static_cast<uint32_t>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(ok ? 16 : 0));
}
__device__ __forceinline__ void copy_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Until at most N of this thread's committed groups are still in flight (a barrier after it orders the reads).
template <int N>
__device__ __forceinline__ void copy_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
// Until all of this thread's copies have landed, before it reads them itself (no barrier: the clobber orders them).
__device__ __forceinline__ void copy_wait_own() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }

// Loads 8 consecutive elements (16 bytes, aligned) widened to fp32.
template <class T>
__device__ __forceinline__ void load8(const T* p, float (&out)[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < 8; ++i) out[i] = to_f(e[i]);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Block-wide reductions (blockDim.x a multiple of 32, <= 1024). `scratch` holds 32 values of
// the type; the result reaches every thread. Two barriers, so calls may follow each other.
template <class V, class Op>
__device__ __forceinline__ V block_reduce(V v, V* scratch, Op op) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  __syncthreads();  // scratch may still be read by a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  V r = scratch[0];
  for (int w = 1; w < warps; ++w) r = op(r, scratch[w]);
  return r;
}

template <DType D>
struct Elem;
template <>
struct Elem<DType::kF16> {
  using type = __half;
};
template <>
struct Elem<DType::kBF16> {
  using type = __nv_bfloat16;
};

// Calls f.template operator()<T>() with the element type of `dt`.
#define LMRT_DISPATCH_DTYPE(dt, T, ...)         \
  do {                                          \
    if ((dt) == DType::kF16) {                  \
      using T = __half;                         \
      __VA_ARGS__;                              \
    } else {                                    \
      using T = __nv_bfloat16;                  \
      __VA_ARGS__;                              \
    }                                           \
  } while (0)

}  // namespace lmrt::tm
