// Helpers of the GPU engine tests: device detection and a step-level engine harness.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lmrt/core/engine_handle.hpp"
#include "lmrt/core/model_loader.hpp"
#include "lmrt/core/plugin_registry.hpp"

namespace lmrt::gputest {

inline constexpr const char* kGpu = "turbomind-cuda-fp16";

// Empty when the GPU engine is usable here, else why not (the tests skip with it).
const std::string& gpu_unavailable_reason();

#define REQUIRE_GPU()                                                                          \
  if (!::lmrt::gputest::gpu_unavailable_reason().empty())                                      \
  GTEST_SKIP() << "no usable CUDA device: " << ::lmrt::gputest::gpu_unavailable_reason()

// Test data: $LMRT_TESTDATA_DIR, else ../shared/testdata beside the source tree.
std::filesystem::path testdata_dir();
std::filesystem::path fixtures_dir();

// One engine over one model with a fixed pool, driven step by step.
class StepEngine {
 public:
  StepEngine(const std::string& backend, const std::filesystem::path& model_dir, const std::string& engine_yaml,
             uint32_t num_blocks = 256, uint32_t block_seq_len = 16);
  // `flags`: the batch's LMRT_STEP_* hints.
  lmrt_status* step(const std::vector<lmrt_step_seq>& seqs, std::vector<lmrt_token_logprobs>& out, uint32_t flags = 0);
  // One sequence, greedy, top-20 logprobs, blocks [first_block, first_block + 16).
  lmrt_token_logprobs greedy(const std::vector<int32_t>& tokens, uint32_t start, uint64_t seq_id = 1,
                             int32_t first_block = 0);
  uint32_t vocab() const { return model_.desc().vocab_size; }
  EngineHandle& handle() { return *engine_; }
  // Statuses are the host's: read and release them through its table.
  const lmrt_host_api* host() const { return registry_.host_api(); }

 private:
  PluginRegistry registry_;
  LoadedModel model_;
  std::unique_ptr<EngineHandle> engine_;
};

lmrt_sampling_params greedy_params();

}  // namespace lmrt::gputest
