// An engine plugin instance as the core uses it: the plugin's table, its engine
// handle and the plugin module kept alive, with statuses turned into exceptions.
#pragma once

#include <memory>
#include <string>

#include "lmrt/core/plugin_registry.hpp"
#include "lmrt/engine.h"

namespace lmrt {

class EngineHandle {
 public:
  // Creates the engine; throws lmrt::Error prefixed with the plugin's name.
  EngineHandle(const LoadedPlugin& plugin, const lmrt_host_api* host, const std::string& engine_yaml,
               const lmrt_model_desc& model);
  ~EngineHandle();
  EngineHandle(const EngineHandle&) = delete;
  EngineHandle& operator=(const EngineHandle&) = delete;

  lmrt_capacity capacity(const lmrt_capacity_query& query);
  void allocate_cache(uint32_t num_blocks, uint32_t block_seq_len);
  // Returns the plugin's status (NULL on success) so the scheduler can fail
  // just the requests of the step.
  lmrt_status* step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs);

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  const lmrt_engine_api* api_ = nullptr;
  lmrt_engine* engine_ = nullptr;
  std::shared_ptr<void> module_;  // the plugin stays loaded while its engine lives
};

}  // namespace lmrt
