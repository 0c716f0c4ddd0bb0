// The `engine` section keys the cpu engine reads, and the probe request.
#pragma once

#include <string>
#include <string_view>

namespace lmrt::cpu {

struct EngineConfig {
  unsigned num_threads = 0;   // 0 = std::thread::hardware_concurrency()
  std::string dtype = "auto"; // auto | float32 | float16 | bfloat16 (all computed in fp32)
  unsigned tp = 1;            // simulated tensor-parallel ranks
};

// Parses the engine section; other keys are ignored (they belong to the core).
// Throws lmrt::plugin::Error (CONFIG_ERROR) naming the key and line.
EngineConfig parse_engine_config(std::string_view yaml);

// The model format a probe request asks for: `model: {format: ...}`; "hf" when absent.
std::string probe_model_format(std::string_view yaml);

// num_threads resolved against the machine.
unsigned resolve_num_threads(unsigned requested);

}  // namespace lmrt::cpu
