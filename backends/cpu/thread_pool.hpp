// A small persistent pool of worker threads for the cpu engine's data-parallel loops.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lmrt::cpu {

class ThreadPool {
 public:
  // `num_threads` counts the calling thread: a pool of 1 runs everything inline.
  explicit ThreadPool(unsigned num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()) + 1; }

  // Calls fn(i) for every i in [0, num_tasks), spread over the pool, and returns
  // when all calls are done. The calling thread takes tasks too. Which thread runs
  // a task never changes what it computes, so results do not depend on the pool size.
  // Rethrows the first exception a task threw. Not reentrant.
  // `worth_threads` false runs the tasks inline: waking workers costs more than
  // tiny loops gain (a few microseconds per call).
  template <class F>
  void parallel_for(size_t num_tasks, F&& fn, bool worth_threads = true) {
    if (num_tasks == 0) return;
    if (workers_.empty() || num_tasks == 1 || !worth_threads) {
      for (size_t i = 0; i < num_tasks; ++i) fn(i);
      return;
    }
    run(num_tasks, [](void* f, size_t i) { (*static_cast<F*>(f))(i); }, &fn);
  }

 private:
  using TaskFn = void (*)(void*, size_t);
  void run(size_t num_tasks, TaskFn fn, void* ctx);
  void drain();  // takes tasks of the current job until none are left
  void worker_loop();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  uint64_t generation_ = 0;  // bumped once per job, under mutex_
  bool stopping_ = false;

  // The current job.
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  size_t num_tasks_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<unsigned> busy_workers_{0};  // workers still inside the current job
  std::exception_ptr error_;
  std::mutex error_mutex_;
};

}  // namespace lmrt::cpu
