// The C API's lmrt_runtime: a Runtime plus the queues of requests that are
// pulled (lmrt_runtime_next_event) rather than called back.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>

#include "lmrt/core/runtime.hpp"

namespace lmrt {

struct PulledRequest {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<RuntimeEvent> events;
  RuntimeEvent current;  // what the last next_event returned; its buffers back the lmrt_event
  bool finished_taken = false;
};

}  // namespace lmrt

struct lmrt_runtime {
  std::unique_ptr<lmrt::Runtime> runtime;
  std::mutex mutex;
  std::map<uint64_t, std::shared_ptr<lmrt::PulledRequest>> pulled;
};

namespace lmrt {

// Wraps a runtime the host made itself (the executable hands it to frontends).
std::unique_ptr<lmrt_runtime> make_runtime_handle(std::unique_ptr<Runtime> runtime);

}  // namespace lmrt
