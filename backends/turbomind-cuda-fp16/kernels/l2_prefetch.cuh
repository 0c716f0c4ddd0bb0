// L2 prefetch (kernels.hpp: L2Prefetch): a kernel that leaves HBM idle (attention's latency, a GEMM's last blocks)
// asks for weights a later kernel of the step streams, so that kernel finds them in L2. A hint: nothing waits on
// it and no result depends on it.
#pragma once

#include "common.cuh"
#include "l2_prefetch_plan.hpp"

namespace lmrt::tm {

__device__ __forceinline__ void prefetch_l2(const void* p, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(__cvta_generic_to_global(p)), "r"(bytes));
#endif
}

// Share `part` of `parts` of the region's pieces, spread over the block's threads.
__device__ __forceinline__ void prefetch_l2_share(const L2Prefetch& r, unsigned part, unsigned parts) {
  const uint64_t total = l2_prefetch_pieces(r), begin = total * part / parts, end = total * (part + 1) / parts;
  for (uint64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
    uint64_t offset;
    uint32_t bytes;
    if (l2_prefetch_piece(r, j, offset, bytes)) prefetch_l2(static_cast<const char*>(r.base) + offset, bytes);
  }
}

}  // namespace lmrt::tm
