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

// A dense fp16/bf16 model's floors, from its config.json (all zero when unreadable): what a decode step must read
// and what a prompt's prefill must compute.
struct DenseShape {
  double hidden = 0;
  // The weights every step streams once, 2 bytes each: the layers, the final norm and the LM head. An untied
  // embedding table is not among them: a step reads one row of it per sequence.
  double step_weight_bytes = 0;
  double kv_bytes_per_token = 0;
  double layer_params = 0;     // all layers' weights: 2 FLOP per token each in a prefill
  double lm_head_params = 0;   // run for a prompt's last token only
  double attention_width = 0;  // layers x query heads x head_dim
  bool known() const { return step_weight_bytes > 0; }
  // One decode step of `batch` sequences of `context` tokens each.
  double decode_step_bytes(double batch, double context) const {
    return step_weight_bytes + batch * 2 * hidden + batch * context * kv_bytes_per_token;
  }
  // One prompt of `tokens` tokens: the GEMMs, causal attention (QK^T and PV over half the square) and the LM head.
  double prefill_flops(double tokens) const {
    return 2 * layer_params * tokens + 2 * attention_width * tokens * tokens + 2 * lm_head_params;
  }
};
DenseShape dense_shape(const std::string& model_dir);

// Peak resident memory of this process, in bytes (getrusage).
uint64_t peak_rss_bytes();

// Waits on `cv` until `done()`, sampling the runtime's KV blocks in use every 20 ms; returns the most seen.
uint64_t wait_tracking_kv_blocks(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                 const std::function<bool()>& done, const Runtime& rt);

}  // namespace lmrt::app
