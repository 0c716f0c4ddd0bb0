#include "step_profile.hpp"

#include <cstdio>

namespace lmrt::tm {

StepProfile::StepProfile(int level) : enabled_(level > 0), per_kernel_(level > 1) {
  if (!enabled_) return;
  for (cudaEvent_t& e : events_)
    if (cudaEventCreate(&e) != cudaSuccess) {
      cudaGetLastError();
      enabled_ = per_kernel_ = false;  // profiling is best effort: without events there is nothing to report
    }
}

StepProfile::~StepProfile() {
  for (cudaEvent_t e : events_)
    if (e) cudaEventDestroy(e);
  for (cudaEvent_t e : marks_) cudaEventDestroy(e);
}

void StepProfile::begin_step() {
  if (!enabled_) return;
  start_ = Clock::now();
  sampled_ = false;
}

void StepProfile::before_forward(cudaStream_t stream) {
  if (!enabled_) return;
  uploaded_ = Clock::now();
  used_ = 0;
  cudaEventRecord(events_[0], stream);
}

void StepProfile::record_mark(cudaStream_t stream, const char* kernel) {
  if (used_ == marks_.size()) {
    cudaEvent_t e = nullptr;
    if (cudaEventCreate(&e) != cudaSuccess) {
      cudaGetLastError();
      per_kernel_ = false;
      return;
    }
    marks_.push_back(e);
    mark_names_.push_back(nullptr);
  }
  mark_names_[used_] = kernel;
  cudaEventRecord(marks_[used_++], stream);
}

void StepProfile::after_forward(cudaStream_t stream) {
  if (!enabled_) return;
  launched_ = Clock::now();
  cudaEventRecord(events_[1], stream);
}

void StepProfile::after_sampling(cudaStream_t stream) {
  if (!enabled_) return;
  cudaEventRecord(events_[2], stream);
  sampled_ = true;
}

void StepProfile::end_step(bool decode_only, uint64_t tokens) {
  if (!enabled_) return;
  Totals& t = decode_only ? decode_ : mixed_;
  float forward = 0, sampling = 0;
  cudaEventElapsedTime(&forward, events_[0], events_[1]);
  if (sampled_) cudaEventElapsedTime(&sampling, events_[1], events_[2]);
  cudaGetLastError();
  t.steps += 1;
  t.tokens += tokens;
  t.host_ms += std::chrono::duration<double, std::milli>(uploaded_ - start_).count();
  t.launch_ms += std::chrono::duration<double, std::milli>(launched_ - uploaded_).count();
  t.forward_ms += forward;
  t.sampling_ms += sampling;
  t.wall_ms += std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  cudaEvent_t prev = events_[0];
  for (size_t i = 0; i < used_; ++i) {
    float ms = 0;
    cudaEventElapsedTime(&ms, prev, marks_[i]);
    prev = marks_[i];
    auto it = t.kernels.begin();
    while (it != t.kernels.end() && it->first != mark_names_[i]) ++it;
    if (it == t.kernels.end()) it = t.kernels.insert(it, {mark_names_[i], 0.0});
    it->second += ms;
  }
  cudaGetLastError();
}

std::string StepProfile::report() const {
  std::string out;
  auto line = [&](const char* kind, const Totals& t) {
    if (t.steps == 0) return;
    char buf[320];
    const double n = static_cast<double>(t.steps);
    std::snprintf(buf, sizeof buf,
                  "%s steps: %llu (%.1f tokens each); per step: wall %.3f ms = host preparation %.3f + GPU forward "
                  "%.3f (the host took %.3f to enqueue it) + GPU sampling %.3f + the rest %.3f ms\n",
                  kind, static_cast<unsigned long long>(t.steps), t.tokens / n, t.wall_ms / n, t.host_ms / n,
                  t.forward_ms / n, t.launch_ms / n, t.sampling_ms / n,
                  (t.wall_ms - t.host_ms - t.forward_ms - t.sampling_ms) / n);
    out += buf;
    for (const auto& [name, ms] : t.kernels) {
      std::snprintf(buf, sizeof buf, "  %-22s %8.3f ms per step (%4.1f%% of the forward pass)\n", name.c_str(), ms / n,
                    t.forward_ms > 0 ? 100.0 * ms / t.forward_ms : 0.0);
      out += buf;
    }
  };
  line("decode-only", decode_);
  line("with prefill", mixed_);
  return out;
}

}  // namespace lmrt::tm
