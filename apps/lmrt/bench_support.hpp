// Helpers the `lmrt bench` commands share: list flags, percentiles, the dense model's byte counts.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "lmrt/core/runtime.hpp"

namespace lmrt::app {

// "1,16,64" -> {1, 16, 64}; positive integers only, else an lmrt::Error naming `what` and `flag`.
std::vector<uint32_t> parse_positive_list(const std::string& s, const char* what, const char* flag);

// The nearest-rank percentile p (0..100) of v; 0 for an empty v.
double percentile(std::vector<double> v, double p);

// Bytes that a step must read for a dense fp16/bf16 model, from its config.json (0 when unreadable).
struct DenseShape {
  double weight_bytes = 0, kv_bytes_per_token = 0;
};
DenseShape dense_shape(const std::string& model_dir);

// Peak resident memory of this process, in bytes (getrusage).
uint64_t peak_rss_bytes();

// Waits on `cv` until `done()`, sampling the runtime's KV blocks in use every 20 ms; returns the most seen.
uint64_t wait_tracking_kv_blocks(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                 const std::function<bool()>& done, const Runtime& rt);

}  // namespace lmrt::app
