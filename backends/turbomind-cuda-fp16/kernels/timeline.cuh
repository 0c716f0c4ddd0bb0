// The decode-step timeline (a build with -DLMRT_TM_TIMELINE=ON, run with LMRT_TM_TIMELINE=1; step_timeline.hpp
// sums it up): every block of the skinny GEMM and of tensor-core attention records, in %globaltimer nanoseconds,
// when it started, when its wait for the previous kernel returned, when its own work was done and when it left
// (tensor-core attention also when its first keys had landed and when its chunks were computed, and its tiles'
// phases in SM cycles), so that a graph-replayed step's kernels and the gaps between them can be read in place,
// with programmatic launch overlapping them, which a per-kernel profiler cannot show. In other builds the marks
// compile to nothing.
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
  // Tensor-core attention's tiles, in SM cycles summed over the block's tiles: to a tile's landing (from the wait's
  // return or the previous tile's end), S = Q K^T, then the softmax and O += P V (ptxas interleaves those two, so a
  // mark between them would not split them); `cycles` from the block's start to its end gives the clock rate with
  // end - start. `sink` keeps the values the marks waited for alive. `tail_cycles`: from the last tile's end to the
  // chunks computed (their partials written or combined into the running state).
  uint32_t tiles = 0, cycles = 0, sink = 0;
  uint32_t tile_cycles[3] = {0, 0, 0};
  uint32_t tail_cycles = 0;
};

// Where the marks go: `capacity` events; *cursor counts them (reset it before a step). `barrier`: a GEMM block's end
// mark waits for all its threads (1); 0 (LMRT_TM_TIMELINE=2) leaves the block's exit as in other builds, its end
// then thread 0's, for what depends on how blocks leave (programmatic launch's overlap).
struct Timeline {
  unsigned* cursor = nullptr;
  unsigned capacity = 0;
  TimelineEvent* events = nullptr;
  unsigned barrier = 1;
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

__device__ __forceinline__ uint32_t timeline_clock() {
  uint32_t c;
  asm volatile("mov.u32 %0, %%clock;" : "=r"(c));
  return c;
}

// One block's marks; its thread 0 records them.
struct TimelineMark {
  uint64_t start = 0, released = 0, done = 0, ready_at = 0, computed_at = 0;
  uint32_t clock_start = 0, clock_last = 0, tiles = 0, sink = 0, tile_clock[3] = {0, 0, 0}, tail_clock = 0;
  __device__ __forceinline__ void begin() { start = timeline_now(), clock_start = timeline_clock(); }
  __device__ __forceinline__ void release() { released = timeline_now(), clock_last = timeline_clock(); }
  // The end of phase p (0..2, TimelineEvent::tile_cycles) of a tile; `dep` is a value the phase produced, read
  // first so that the phase's results are in (which serializes the phases a little).
  __device__ __forceinline__ void tile_phase(int p, float dep) {
    asm volatile("add.u32 %0, %0, %1;" : "+r"(sink) : "r"(__float_as_uint(dep)));
    const uint32_t now = timeline_clock();
    tile_clock[p] += now - clock_last;
    clock_last = now;
    tiles += p == 2;
  }
  __device__ __forceinline__ void ready() { ready_at = timeline_now(); }
  __device__ __forceinline__ void computed() {
    computed_at = timeline_now(), tail_clock = timeline_clock() - clock_last;
  }
  __device__ __forceinline__ void work_done() { done = timeline_now(); }
  // At a point every thread of the block reaches.
  __device__ __forceinline__ void block_end(TimelineKind kind, int layer) const {
    if (g_timeline.barrier) __syncthreads();
    record(kind, layer);
  }
  __device__ __forceinline__ void record(TimelineKind kind, int layer) const {
    if (threadIdx.x != 0 || g_timeline.events == nullptr) return;
    const uint64_t end = timeline_now();
    const unsigned i = atomicAdd(g_timeline.cursor, 1u);
    if (i >= g_timeline.capacity) return;
    unsigned sm;
    asm volatile("mov.u32 %0, %%smid;" : "=r"(sm));
    const uint32_t cycles = timeline_clock() - clock_start;
    g_timeline.events[i] = {static_cast<uint32_t>(kind), static_cast<uint32_t>(layer), blockIdx.x + gridDim.x * blockIdx.y,
                            sm, start, released, done ? done : end, end, ready_at, computed_at, tiles, cycles, sink,
                            {tile_clock[0], tile_clock[1], tile_clock[2]}, tail_clock};
  }
};
#else
struct TimelineMark {
  __device__ __forceinline__ void begin() {}
  __device__ __forceinline__ void release() {}
  __device__ __forceinline__ void ready() {}
  __device__ __forceinline__ void computed() {}
  __device__ __forceinline__ void tile_phase(int, float) {}
  __device__ __forceinline__ void work_done() {}
  __device__ __forceinline__ void block_end(TimelineKind, int) const {}
  __device__ __forceinline__ void record(TimelineKind, int) const {}
};
#endif
#endif

}  // namespace lmrt::tm
