// The `engine` section keys this engine reads (the rest belong to the core).
#pragma once

#include <string>
#include <string_view>

namespace lmrt::tm {

struct EngineConfig {
  std::string dtype = "auto";  // auto | float16 | bfloat16 (auto: bf16 if the checkpoint is bf16, else fp16)
  int device_id = 0;
  int tp = 1;  // tensor-parallel ranks (tensor_parallel_engine.hpp)
};

// Throws lmrt::plugin::Error (CONFIG_ERROR) naming the key.
EngineConfig parse_engine_config(std::string_view yaml);

// The probe request's model.format ("hf" when absent) and engine.dtype.
std::string probe_model_format(std::string_view yaml);

}  // namespace lmrt::tm
