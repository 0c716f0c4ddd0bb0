// Loads liblmrt-cpu.so the way a host does (dlopen + lmrt_plugin_init with a
// minimal host table written here) and wraps the engine table for tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lmrt/engine.h"

namespace cpu_test {

// A status taken from the plugin: its code and message (the status is released).
struct Result {
  lmrt_status_code code = LMRT_STATUS_OK;
  std::string message;
  bool ok() const { return code == LMRT_STATUS_OK; }
};
Result take(lmrt_status* status);

const lmrt_host_api* test_host();

// The loaded plugin; a test calls GTEST_SKIP when `error` is not empty.
struct LoadedPlugin {
  std::string error;
  lmrt_plugin_init_fn init = nullptr;
  lmrt_plugin_descriptor descriptor{};
  const lmrt_engine_api* api = nullptr;
};
const LoadedPlugin& cpu_plugin();

class Engine {
 public:
  ~Engine();
  // Creates an engine; on failure returns nullptr and fills `result`.
  static std::unique_ptr<Engine> create(const lmrt_model_desc& model, const std::string& config_yaml, Result* result);

  Result capacity(const lmrt_capacity_query& query, lmrt_capacity* out);
  Result allocate(uint32_t num_blocks, uint32_t block_seq_len);
  Result step(const std::vector<lmrt_step_seq>& seqs, std::vector<lmrt_token_logprobs>* outputs);
  lmrt_engine* raw() const { return engine_; }

 private:
  explicit Engine(lmrt_engine* e) : engine_(e) {}
  lmrt_engine* engine_;
};

lmrt_sampling_params greedy_params(uint32_t top_logprobs = LMRT_MAX_TOP_LOGPROBS);
lmrt_sampling_params random_params(uint64_t seed, float temperature = 1.f);
lmrt_step_seq make_seq(uint64_t seq_id, const int32_t* tokens, uint32_t num_tokens, uint32_t start_pos,
                       const std::vector<int32_t>& block_table, const lmrt_sampling_params* sampling);
lmrt_capacity_query capacity_query(uint32_t block_seq_len, float fraction);

}  // namespace cpu_test
