// The decode-step timeline (a build with -DLMRT_TM_TIMELINE=ON, run with LMRT_TM_TIMELINE=1; step_timeline.hpp
// sums it up): every block of the skinny GEMM and of tensor-core attention records, in %globaltimer nanoseconds,
// when it started, when its wait for the previous kernel returned, when its own work was done and when it left
// (tensor-core attention also when its first keys had landed and when its chunks were computed),
// so that a graph-replayed step's kernels and the gaps between them can be read in place, with programmatic launch
// overlapping them, which a per-kernel profiler cannot show. In other builds the marks compile to nothing.
#pragma once

#include <cstdint>

namespace lmrt::tm {

enum class TimelineKind : uint32_t { kOther = 0, kQkv, kAttention, kOutput, kGateUp, kDown };

struct TimelineEvent {
  uint32_t kind;   // TimelineKind
  uint32_t layer;
  uint32_t block;  // blockIdx.x + gridDim.x * blockIdx.y
  uint32_t sm;
  uint64_t start, released, done, end;  // done: a split attention block's partials written (else = end)
  uint64_t ready = 0, computed = 0;     // attention: its first tile of keys landed; its chunks computed (else 0)
};

// Where the marks go: `capacity` events; *cursor counts them (reset it before a step).
struct Timeline {
  unsigned* cursor = nullptr;
  unsigned capacity = 0;
  TimelineEvent* events = nullptr;
};

// Points every instrumented kernel at `t` (an empty Timeline: record nothing). False in builds without the marks.
bool bind_timeline(const Timeline& t);

// Each instrumented translation unit registers how to point its kernels at a timeline (kernels/launch.cu).
using TimelineBinder = void (*)(const Timeline&);
void register_timeline_binder(TimelineBinder binder);

// Device side: for the units with kernels (launch.cu, which keeps the registry, sets LMRT_TM_TIMELINE_REGISTRY).
#if defined(__CUDACC__) && !defined(LMRT_TM_TIMELINE_REGISTRY)
#if defined(LMRT_TM_TIMELINE)
namespace {
__device__ Timeline g_timeline;  // this translation unit's
void bind_this_unit(const Timeline& t) { cudaMemcpyToSymbol(g_timeline, &t, sizeof t); }
[[maybe_unused]] const bool g_timeline_registered = (register_timeline_binder(&bind_this_unit), true);
}  // namespace

__device__ __forceinline__ uint64_t timeline_now() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// One block's marks; its thread 0 records them.
struct TimelineMark {
  uint64_t start = 0, released = 0, done = 0, ready_at = 0, computed_at = 0;
  __device__ __forceinline__ void begin() { start = timeline_now(); }
  __device__ __forceinline__ void release() { released = timeline_now(); }
  __device__ __forceinline__ void ready() { ready_at = timeline_now(); }
  __device__ __forceinline__ void computed() { computed_at = timeline_now(); }
  __device__ __forceinline__ void work_done() { done = timeline_now(); }
  // At a point every thread of the block reaches.
  __device__ __forceinline__ void block_end(TimelineKind kind, int layer) const {
    __syncthreads();
    record(kind, layer);
  }
  __device__ __forceinline__ void record(TimelineKind kind, int layer) const {
    if (threadIdx.x != 0 || g_timeline.events == nullptr) return;
    const uint64_t end = timeline_now();
    const unsigned i = atomicAdd(g_timeline.cursor, 1u);
    if (i >= g_timeline.capacity) return;
    unsigned sm;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    g_timeline.events[i] = {static_cast<uint32_t>(kind), static_cast<uint32_t>(layer), blockIdx.x + gridDim.x * blockIdx.y,
                            sm, start, released, done ? done : end, end, ready_at, computed_at};
  }
};
#else
struct TimelineMark {
  __device__ __forceinline__ void begin() {}
  __device__ __forceinline__ void release() {}
  __device__ __forceinline__ void ready() {}
  __device__ __forceinline__ void computed() {}
  __device__ __forceinline__ void work_done() {}
  __device__ __forceinline__ void block_end(TimelineKind, int) const {}
  __device__ __forceinline__ void record(TimelineKind, int) const {}
};
#endif
#endif

}  // namespace lmrt::tm
