#include "rank_threads.hpp"

#include <utility>

namespace lmrt::tm {

RankThreads::RankThreads(int num_ranks) {
  for (int r = 1; r < num_ranks; ++r) threads_.emplace_back([this, r] { serve(r); });
}

RankThreads::~RankThreads() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void RankThreads::run(const std::function<void(int)>& work, const std::function<void()>& on_failure) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    work_ = &work;
    on_failure_ = &on_failure;
    failure_ = nullptr;
    running_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  finish(0, work);
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [&] { return running_ == 0; });
  work_ = nullptr;
  on_failure_ = nullptr;
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

void RankThreads::finish(int rank, const std::function<void(int)>& work) {
  try {
    work(rank);
  } catch (...) {
    bool first = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception(), first = true;
    }
    if (first) (*on_failure_)();
  }
}

void RankThreads::serve(int rank) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* work = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      work = work_;
    }
    finish(rank, *work);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --running_;
    }
    done_cv_.notify_all();
  }
}

}  // namespace lmrt::tm
