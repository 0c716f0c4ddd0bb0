// What the plugin's entry points call (plugin.cpp): one GPU (GpuEngine) or several ranks of one model
// (TensorParallelEngine). Methods throw lmrt::plugin::Error; plugin.cpp turns that into a status.
#pragma once

#include "lmrt/engine.h"

namespace lmrt::tm {

class Engine {
 public:
  virtual ~Engine() = default;
  virtual void capacity(const lmrt_capacity_query& query, lmrt_capacity& out) = 0;
  virtual void allocate_cache(const lmrt_cache_config& config) = 0;
  virtual void step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) = 0;
};

}  // namespace lmrt::tm
