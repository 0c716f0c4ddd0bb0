// The tensor-parallel ranks' all-reduce, for one process that drives every rank from a thread of its own.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/kernels.hpp"

namespace lmrt::tm {

class Communicator {
 public:
  virtual ~Communicator() = default;
  // Sums `count` fp32 partials over the ranks into each rank's `out`: stored there (DType, rounded once), or, with
  // `add_to_residual`, rounded and added to it (the fp32 residual stream). Each rank's thread calls it with its own
  // buffers and stream, the same calls in the same order on every rank. When it returns the sum is enqueued on
  // `stream` (work enqueued after it sees the result) and every rank will hold the same bits. fp32 partials keep
  // tp = N within the order of an fp32 sum of tp = 1, whose GEMM rounds its sum once. Throws lmrt::plugin::Error
  // (INTERNAL) when abort() was called.
  virtual void all_reduce_sum(int rank, const float* partial, void* out, size_t count, DType dt, bool add_to_residual,
                              cudaStream_t stream) = 0;
  // Called once when a rank fails, so that the others stop waiting for it; reset() before the next step.
  virtual void abort() = 0;
  virtual void reset() = 0;
};

// Over device memory the rank 0 device can read and write: ranks on one device (tests), or on devices with peer
// access to it (NVLink). Rank 0's stream waits for every rank's partials, sums them with kernels/collective, and
// the other ranks' streams wait for that. `devices[r]` is rank r's device (at most kMaxRanks ranks).
std::unique_ptr<Communicator> make_peer_communicator(const std::vector<int>& devices);

}  // namespace lmrt::tm
