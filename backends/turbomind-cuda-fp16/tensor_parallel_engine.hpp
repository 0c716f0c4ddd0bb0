// engine.tp = N on the GPU engine (docs/tensor-parallel.md): N ranks of one model, each a GpuEngine on its own
// device with its share of the weights (rank_model.hpp) and of the KV pool, driven by one process, a thread a rank
// (rank_threads.hpp), meeting in two all-reduces a layer (communicator.hpp). Rank 0 samples.
#pragma once

#include <memory>
#include <vector>

#include "communicator.hpp"
#include "engine_config.hpp"
#include "engine_interface.hpp"
#include "gpu_engine.hpp"
#include "rank_threads.hpp"

namespace lmrt::tm {

class TensorParallelEngine final : public Engine {
 public:
  // Rank r runs on device engine.device_id + r, or every rank on engine.device_id with LMRT_TM_TP_ONE_DEVICE=1 (for
  // tests on one GPU). Throws lmrt::plugin::Error: CONFIG_ERROR when the plan cannot split the model (it names
  // the numbers) or tp exceeds kMaxRanks, UNSUPPORTED without enough devices or peer access between them.
  TensorParallelEngine(const lmrt::plugin::Host& host, const EngineConfig& config, const lmrt_model_desc& model);
  ~TensorParallelEngine() override;

  // One KV block count for all ranks (a block id names the same positions on each): the fewest any rank can hold,
  // shared among the ranks of one device. block_bytes is one rank's; weight_bytes all ranks'.
  void capacity(const lmrt_capacity_query& query, lmrt_capacity& out) override;
  void allocate_cache(const lmrt_cache_config& config) override;
  void step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) override;

 private:
  std::vector<int> devices_;
  std::unique_ptr<Communicator> comm_;
  std::vector<std::unique_ptr<GpuEngine>> ranks_;
  std::unique_ptr<RankThreads> threads_;
  std::vector<std::vector<lmrt_token_logprobs>> scratch_;  // outputs of ranks past the first
};

}  // namespace lmrt::tm
