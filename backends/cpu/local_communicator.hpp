// An in-process communicator for N simulated tensor-parallel ranks, each a thread
// of one process: what NCCL is to the GPU engine, with the two collectives the
// tensor-parallel forward needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lmrt/cpp/rank_barrier.hpp"

namespace lmrt::cpu {

class LocalCommunicator {
 public:
  explicit LocalCommunicator(uint32_t num_ranks);
  LocalCommunicator(const LocalCommunicator&) = delete;
  LocalCommunicator& operator=(const LocalCommunicator&) = delete;

  uint32_t size() const noexcept { return num_ranks_; }

  // Returns once all ranks have called it.
  void barrier();

  // Every rank calls it with its own buffer of `count` elements (the same count on
  // every rank); on return each buffer holds the element-wise sum over ranks,
  // added in rank order ((p0 + p1) + p2) + ..., so the bits do not depend on thread
  // timing. Buffers must not overlap. With one rank it returns at once.
  void all_reduce_sum(uint32_t rank, float* data, size_t count);
  void all_reduce_sum(uint32_t rank, double* data, size_t count);

  // Makes every rank waiting in (or later entering) a collective throw, so one
  // rank's failure cannot leave the others blocked; reset() re-arms it once all
  // ranks have left.
  void abort();
  void reset();

 private:
  template <class T>
  void all_reduce(uint32_t rank, T* data, size_t count);

  const uint32_t num_ranks_;
  tp::RankBarrier barrier_;

  // The buffers of the collective in progress, published before its first barrier.
  struct Slot {
    void* data = nullptr;
    size_t count = 0;
    size_t element_size = 0;
  };
  std::vector<Slot> slots_;
};

}  // namespace lmrt::cpu
