#include "lmrt/core/engine_handle.hpp"

#include "lmrt/core/status.hpp"

namespace lmrt {

EngineHandle::EngineHandle(const LoadedPlugin& plugin, const lmrt_host_api* host, const std::string& engine_yaml,
                           const lmrt_model_desc& model)
    : name_(plugin.name()), api_(plugin.api<lmrt_engine_api>()), module_(plugin.module) {
  if (api_->struct_size < sizeof(lmrt_engine_api) || !api_->create || !api_->capacity || !api_->allocate_cache ||
      !api_->step || !api_->destroy)
    fail(LMRT_STATUS_ABI_MISMATCH, "engine plugin '" + name_ + "' has an incomplete function table");
  lmrt_engine_create_params params{};
  params.struct_size = sizeof(params);
  params.config_yaml = lmrt_str{engine_yaml.data(), engine_yaml.size()};
  params.model = &model;
  lmrt_engine* engine = nullptr;
  throw_if_error(api_->create(host, &params, &engine), "engine '" + name_ + "'");
  if (!engine) fail(LMRT_STATUS_INTERNAL, "engine '" + name_ + "' returned no engine");
  engine_ = engine;
}

EngineHandle::~EngineHandle() {
  if (engine_) api_->destroy(engine_);
}

lmrt_capacity EngineHandle::capacity(const lmrt_capacity_query& query) {
  lmrt_capacity out{};
  out.struct_size = sizeof(out);
  throw_if_error(api_->capacity(engine_, &query, &out), "engine '" + name_ + "' capacity");
  out.device[LMRT_CAPS_TEXT - 1] = '\0';
  return out;
}

void EngineHandle::allocate_cache(uint32_t num_blocks, uint32_t block_seq_len) {
  lmrt_cache_config config{};
  config.struct_size = sizeof(config);
  config.num_blocks = num_blocks;
  config.block_seq_len = block_seq_len;
  throw_if_error(api_->allocate_cache(engine_, &config), "engine '" + name_ + "' allocate_cache");
}

lmrt_status* EngineHandle::step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  return api_->step(engine_, &batch, outputs);
}

}  // namespace lmrt
