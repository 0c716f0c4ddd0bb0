// How the engine's kernels are launched: through launch_kernel, with programmatic dependent launch (PDL) when the
// engine turned it on (sm_90 and newer). Then a kernel's blocks may start while the previous kernel on the stream
// is still running, so its launch, its reads of the step metadata and, for the skinny GEMM, its first weight loads
// overlap the previous kernel instead of following it. Every kernel launched this way starts with griddep_wait()
// (common.cuh) before touching anything an earlier kernel wrote. cuBLAS kernels and copies on the stream keep
// plain stream order: a kernel after one of them starts when it ends, and one before them runs to its end first.
#pragma once

#include <cuda_runtime.h>

#include <utility>

namespace lmrt::tm {

bool programmatic_dependent_launch();  // kernels/launch.cu

template <class... Params, class... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                   Args&&... args) {
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cfg.attrs = attr;
  cfg.numAttrs = programmatic_dependent_launch() ? 1 : 0;
  // A launch error stays in cudaGetLastError(), which the engine checks after enqueueing a step.
  (void)cudaLaunchKernelEx(&cfg, kernel, static_cast<Params>(std::forward<Args>(args))...);
}

}  // namespace lmrt::tm
