// One HTTP request's generations: up to n runtime requests whose events the scheduler
// thread copies into a queue (by callback) and the HTTP worker thread takes out.
// Destroying it cancels what still runs; the queue outlives it until the last
// FINISHED event, so a late callback never touches freed memory.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lmrt/runtime.h"

namespace lmrt::http {

// An event, copied out of the runtime's borrowed pointers.
struct Event {
  uint32_t choice = 0;  // which of the n generations
  bool finished = false;
  std::string text;
  std::vector<int32_t> tokens;
  std::vector<lmrt_token_logprobs> logprobs;  // empty unless asked
  uint32_t finish_reason = LMRT_FINISH_NONE;
  std::string error;
  uint32_t input_tokens = 0, output_tokens = 0, cached_tokens = 0;
  double queue_seconds = 0, first_token_seconds = 0, total_seconds = 0;
};

class Generation {
 public:
  Generation(const lmrt_runtime_api* api, lmrt_runtime* runtime) : api_(api), rt_(runtime) {}
  ~Generation();
  Generation(const Generation&) = delete;
  Generation& operator=(const Generation&) = delete;

  // Submits one more generation (choice index = how many came before). Throws ApiError
  // with the status that fits the runtime's refusal (400 bad input, 503 shutting down...).
  void submit(const lmrt_request_params& params);
  // Waits up to timeout_ms for the next event of any choice; false on time-out.
  bool next(Event& out, int timeout_ms);
  // Asks every unfinished choice to stop (their FINISHED events still come).
  void cancel();
  // Choices whose FINISHED event has not been taken yet.
  size_t unfinished() const { return unfinished_; }
  size_t size() const { return ids_.size(); }
  // The runtime's ids of the submitted choices, in order.
  const std::vector<uint64_t>& ids() const { return ids_; }

 private:
  struct Queue {
    std::mutex mutex;
    std::condition_variable ready;
    std::deque<Event> events;
  };
  struct Slot {  // the callback's `user`: keeps the queue alive until FINISHED
    std::shared_ptr<Queue> queue;
    uint32_t choice;
  };
  static void on_event(void* user, const lmrt_event* ev);

  const lmrt_runtime_api* api_;
  lmrt_runtime* rt_;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::vector<uint64_t> ids_;
  size_t unfinished_ = 0;
  bool cancelled_ = false;
};

}  // namespace lmrt::http
