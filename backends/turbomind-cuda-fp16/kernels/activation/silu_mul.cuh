// SiLU(gate) * up of one element, in fp32: the one formula the SiLU-and-multiply kernel and the skinny GEMM's
// SiLU-and-multiply input both use, so either path gives the same bits.
#pragma once

namespace lmrt::tm {

__device__ __forceinline__ float silu_times(float gate, float up) { return gate / (1.f + expf(-gate)) * up; }

}  // namespace lmrt::tm
