// A barrier for the threads of tensor-parallel ranks in one process (header-only, for any engine plugin: the cpu
// engine's simulated ranks and the GPU engine's rank threads meet in it). abort() breaks it, so that one rank's
// failure cannot leave the others waiting for it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace lmrt::tp {

class RankBarrier {
 public:
  explicit RankBarrier(uint32_t count) : count_(count) {}
  RankBarrier(const RankBarrier&) = delete;
  RankBarrier& operator=(const RankBarrier&) = delete;

  // Returns true once all `count` threads have called it; false, at once, in the threads waiting when abort() is
  // called and in every caller after it until reset().
  bool arrive_and_wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (aborted_) return false;
    const uint64_t generation = generation_;
    if (++waiting_ == count_) {
      waiting_ = 0;
      ++generation_;
      arrived_.notify_all();
      return true;
    }
    arrived_.wait(lock, [&] { return generation_ != generation || aborted_; });
    return generation_ != generation;
  }

  void abort() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = true;
    arrived_.notify_all();
  }

  // Re-arms it; only once no thread is inside.
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    aborted_ = false;
    waiting_ = 0;
  }

 private:
  const uint32_t count_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  uint32_t waiting_ = 0;
  uint64_t generation_ = 0;
  bool aborted_ = false;
};

}  // namespace lmrt::tp
