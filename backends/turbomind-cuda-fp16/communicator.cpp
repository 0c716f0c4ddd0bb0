#include "communicator.hpp"

#include "cuda_check.hpp"
#include "lmrt/cpp/rank_barrier.hpp"
#include "lmrt/plugin.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

[[noreturn]] void aborted() {
  throw Error(LMRT_STATUS_INTERNAL, "turbomind-cuda-fp16: a tensor-parallel rank stopped because another one failed");
}

class PeerCommunicator final : public Communicator {
 public:
  explicit PeerCommunicator(const std::vector<int>& devices)
      : devices_(devices), barrier_(static_cast<uint32_t>(devices.size())), ready_(devices.size()) {
    bufs_.count = static_cast<int>(devices.size());
    int current = 0;
    check_cuda(cudaGetDevice(&current), "cudaGetDevice");
    try {
      for (size_t r = 0; r < devices_.size(); ++r) {
        check_cuda(cudaSetDevice(devices_[r]), "cudaSetDevice");
        check_cuda(cudaEventCreateWithFlags(&ready_[r], cudaEventDisableTiming), "creating a rank's event");
      }
      check_cuda(cudaSetDevice(devices_[0]), "cudaSetDevice");
      check_cuda(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "creating the all-reduce event");
    } catch (...) {
      destroy();
      throw;
    }
    cudaSetDevice(current);
  }
  ~PeerCommunicator() override { destroy(); }

  void all_reduce_sum(int rank, const float* partial, void* out, size_t count, DType dt, bool add_to_residual,
                      cudaStream_t stream) override {
    check_cuda(cudaEventRecord(ready_[rank], stream), "recording a rank's all-reduce input");
    bufs_.in[rank] = partial, bufs_.out[rank] = out;  // published to rank 0 by the barrier
    meet();
    if (rank == 0) {
      bufs_.add_to_residual = add_to_residual;
      for (size_t r = 1; r < devices_.size(); ++r)
        check_cuda(cudaStreamWaitEvent(stream, ready_[r], 0), "waiting for a rank's all-reduce input");
      launch_sum_ranks(dt, bufs_, count, stream);
      check_cuda(cudaGetLastError(), "launching the all-reduce");
      check_cuda(cudaEventRecord(done_, stream), "recording the all-reduce");
    }
    // Rank 0 records done_ before this barrier and re-records it only after the next call's first one, which
    // every rank reaches after enqueueing its wait below.
    meet();
    if (rank != 0) check_cuda(cudaStreamWaitEvent(stream, done_, 0), "waiting for the all-reduce");
  }
  void abort() override { barrier_.abort(); }
  void reset() override { barrier_.reset(); }

 private:
  void meet() {
    if (!barrier_.arrive_and_wait()) aborted();
  }
  void destroy() {
    for (cudaEvent_t e : ready_)
      if (e) cudaEventDestroy(e);
    if (done_) cudaEventDestroy(done_);
    ready_.clear();
    done_ = nullptr;
  }

  std::vector<int> devices_;
  tp::RankBarrier barrier_;
  std::vector<cudaEvent_t> ready_;
  cudaEvent_t done_ = nullptr;
  RankBuffers bufs_{};
};

}  // namespace

std::unique_ptr<Communicator> make_peer_communicator(const std::vector<int>& devices) {
  if (devices.empty() || devices.size() > static_cast<size_t>(kMaxRanks))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: a communicator needs 1 to " +
                                                  std::to_string(kMaxRanks) + " ranks, got " +
                                                  std::to_string(devices.size()));
  return std::make_unique<PeerCommunicator>(devices);
}

}  // namespace lmrt::tm
