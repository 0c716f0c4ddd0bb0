// Where a step's time goes (LMRT_TM_PROFILE=1): the host's preparation, the host's time to enqueue the forward
// pass, the GPU's forward pass and sampling (CUDA events: on the GPU's timeline, so idle gaps between kernels count
// when the host enqueues slower than the GPU runs), and the rest of the step's wall time, summed apart for
// decode-only steps and steps with prefill tokens and logged when the engine is released. LMRT_TM_PROFILE=2 also
// splits the forward pass by kernel (an event after each; the engine then runs without CUDA graphs). Off, every
// call returns at once.
#pragma once

#include <cuda_runtime.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lmrt::tm {

class StepProfile {
 public:
  explicit StepProfile(int level);  // 0 off, 1 steps, 2 steps and kernels
  ~StepProfile();
  StepProfile(const StepProfile&) = delete;
  StepProfile& operator=(const StepProfile&) = delete;

  bool enabled() const { return enabled_; }
  void begin_step();                         // the step's host work starts
  void before_forward(cudaStream_t stream);  // the host has laid out and uploaded the step
  // The kernels enqueued since the last mark are `kernel` (inline: the forward pass calls it after every kernel).
  void mark(cudaStream_t stream, const char* kernel) {
    if (per_kernel_) record_mark(stream, kernel);
  }
  void after_forward(cudaStream_t stream);
  void after_sampling(cudaStream_t stream);
  void end_step(bool decode_only, uint64_t tokens);  // after the step's synchronization
  std::string report() const;                // one line per kind of step seen

 private:
  struct Totals {
    uint64_t steps = 0, tokens = 0;
    double host_ms = 0, launch_ms = 0, forward_ms = 0, sampling_ms = 0, wall_ms = 0;
    std::vector<std::pair<std::string, double>> kernels;  // in first-seen order: name, ms
  };
  using Clock = std::chrono::steady_clock;
  bool enabled_ = false;
  void record_mark(cudaStream_t stream, const char* kernel);
  bool per_kernel_ = false;  // only while enabled_
  bool sampled_ = false;
  std::vector<cudaEvent_t> marks_;  // the pool; marks_[0 .. used_) this step
  std::vector<const char*> mark_names_;
  size_t used_ = 0;
  cudaEvent_t events_[3] = {nullptr, nullptr, nullptr};
  Clock::time_point start_, uploaded_, launched_;
  Totals decode_, mixed_;
};

}  // namespace lmrt::tm
