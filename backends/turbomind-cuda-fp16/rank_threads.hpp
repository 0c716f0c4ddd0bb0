// A thread per tensor-parallel rank past the first (rank 0 runs on the caller's thread), kept for the engine's
// life: each rank drives its own device and stream, and the ranks meet in the communicator's all-reduces.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lmrt::tm {

class RankThreads {
 public:
  explicit RankThreads(int num_ranks);
  ~RankThreads();
  RankThreads(const RankThreads&) = delete;
  RankThreads& operator=(const RankThreads&) = delete;

  // Runs work(r) for every rank r and returns when all have. The first rank to throw has on_failure() called (so
  // that ranks waiting for it give up) and its exception rethrown here, after every rank has returned.
  void run(const std::function<void(int)>& work, const std::function<void()>& on_failure);

 private:
  void serve(int rank);
  void finish(int rank, const std::function<void(int)>& work);

  std::mutex mutex_;
  std::condition_variable start_cv_, done_cv_;
  const std::function<void(int)>* work_ = nullptr;
  const std::function<void()>* on_failure_ = nullptr;
  uint64_t generation_ = 0;
  int running_ = 0;
  bool stop_ = false;
  std::exception_ptr failure_;
  std::vector<std::thread> threads_;
};

}  // namespace lmrt::tm
