// CUDA graphs for decode steps (on by default; LMRT_TM_CUDA_GRAPHS=0 turns them off: docs/engines/turbomind-cuda-fp16.md).
//
// A decode-only step of S sequences is padded to a bucket of B = the next power of two >= S and replayed from a
// graph captured once per B: the step's kernels (embedding .. sampling) read their inputs from a metadata buffer
// at a fixed device address, laid out for kMaxBatch sequences, and write into the engine's workspace, which must
// not move. Padding rows decode token 0 at position 0 of a scratch KV block that the engine keeps beyond the pool,
// and their samples are dropped. A graph is re-captured when the buffers it points into were reallocated
// (the engine's buffer epoch changed).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <map>

namespace lmrt::tm {

class DecodeGraphs {
 public:
  static constexpr uint32_t kMaxBatch = 256;

  DecodeGraphs() = default;
  ~DecodeGraphs() { clear(); }
  DecodeGraphs(const DecodeGraphs&) = delete;
  DecodeGraphs& operator=(const DecodeGraphs&) = delete;

  static uint32_t bucket(uint32_t seqs) {
    uint32_t b = 1;
    while (b < seqs) b <<= 1;
    return b;
  }
  // The executable graph for bucket `b` captured at `epoch`, or nullptr.
  cudaGraphExec_t find(uint32_t b, uint64_t epoch) const {
    auto it = execs_.find(b);
    return it != execs_.end() && it->second.epoch == epoch ? it->second.exec : nullptr;
  }
  void put(uint32_t b, uint64_t epoch, cudaGraphExec_t exec) {
    auto it = execs_.find(b);
    if (it != execs_.end()) cudaGraphExecDestroy(it->second.exec);
    execs_[b] = {exec, epoch};
  }
  void clear() {
    for (auto& [b, e] : execs_) cudaGraphExecDestroy(e.exec);
    execs_.clear();
  }

 private:
  struct Entry {
    cudaGraphExec_t exec;
    uint64_t epoch;
  };
  std::map<uint32_t, Entry> execs_;
};

}  // namespace lmrt::tm
