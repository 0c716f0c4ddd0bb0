#include "tensor_parallel_engine.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "cuda_check.hpp"
#include "env_knobs.hpp"
#include "rank_model.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

bool one_device_requested() {
  bool one = false;
  read_env_flag("LMRT_TM_TP_ONE_DEVICE", one);
  return one;
}

// Rank r's device, checked: enough devices, and rank 0's able to reach the others' memory.
std::vector<int> rank_devices(const EngineConfig& config) {
  const bool one_device = one_device_requested();
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw Error(LMRT_STATUS_UNSUPPORTED, "turbomind-cuda-fp16: no CUDA device");
  }
  std::vector<int> devices;
  for (int r = 0; r < config.tp; ++r) devices.push_back(config.device_id + (one_device ? 0 : r));
  if (devices.back() >= count)
    throw Error(LMRT_STATUS_UNSUPPORTED,
                "turbomind-cuda-fp16: engine.tp " + std::to_string(config.tp) + " needs CUDA devices " +
                    std::to_string(config.device_id) + ".." + std::to_string(devices.back()) + " but this machine has " +
                    std::to_string(count) + " (LMRT_TM_TP_ONE_DEVICE=1 runs every rank on one device, for tests)");
  check_cuda(cudaSetDevice(devices[0]), "cudaSetDevice");
  for (int r = 1; r < config.tp; ++r) {
    if (devices[r] == devices[0]) continue;
    int ok = 0;
    check_cuda(cudaDeviceCanAccessPeer(&ok, devices[0], devices[r]), "cudaDeviceCanAccessPeer");
    if (!ok)
      throw Error(LMRT_STATUS_UNSUPPORTED, "turbomind-cuda-fp16: cuda:" + std::to_string(devices[0]) +
                                               " cannot access the memory of cuda:" + std::to_string(devices[r]) +
                                               "; tensor parallelism needs peer access (NVLink or PCIe) between them");
    const cudaError_t e = cudaDeviceEnablePeerAccess(devices[r], 0);
    if (e == cudaErrorPeerAccessAlreadyEnabled)
      cudaGetLastError();
    else
      check_cuda(e, "cudaDeviceEnablePeerAccess");
  }
  return devices;
}

}  // namespace

TensorParallelEngine::TensorParallelEngine(const lmrt::plugin::Host& host, const EngineConfig& config,
                                           const lmrt_model_desc& model) {
  if (model.struct_size < sizeof(lmrt_model_desc))
    throw Error(LMRT_STATUS_ABI_MISMATCH, "turbomind-cuda-fp16: lmrt_model_desc.struct_size is too small");
  if (config.tp > kMaxRanks)
    throw Error(LMRT_STATUS_CONFIG_ERROR, "turbomind-cuda-fp16: engine.tp " + std::to_string(config.tp) +
                                              " exceeds " + std::to_string(kMaxRanks) +
                                              ", the most ranks (GPUs of one host) this engine drives");
  const std::string plan_problem = tp::plan_error(model_dims(model), static_cast<uint32_t>(config.tp));
  if (!plan_problem.empty()) throw Error(LMRT_STATUS_CONFIG_ERROR, "turbomind-cuda-fp16: engine.tp: " + plan_problem);
  const tp::Plan plan(model_dims(model), static_cast<uint32_t>(config.tp));
  devices_ = rank_devices(config);
  comm_ = make_peer_communicator(devices_);
  for (int r = 0; r < config.tp; ++r) {
    // The rank's column copies are needed only while its weights upload.
    const RankModel share(model, plan.shard(static_cast<uint32_t>(r)));
    ranks_.push_back(
        std::make_unique<GpuEngine>(host, config, share.desc(), RankContext{r, config.tp, devices_[r], comm_.get()}));
  }
  scratch_.resize(ranks_.size());
  threads_ = std::make_unique<RankThreads>(config.tp);
}

TensorParallelEngine::~TensorParallelEngine() {
  threads_.reset();
  ranks_.clear();
  comm_.reset();
}

void TensorParallelEngine::capacity(const lmrt_capacity_query& query, lmrt_capacity& out) {
  if (out.struct_size < sizeof(lmrt_capacity))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: capacity out.struct_size is too small");
  uint64_t blocks = std::numeric_limits<uint64_t>::max(), free_bytes = blocks, weights = 0;
  std::string where;
  for (size_t r = 0; r < ranks_.size(); ++r) {
    lmrt_capacity c{};
    c.struct_size = sizeof(c);
    ranks_[r]->capacity(query, c);
    const uint64_t sharing = std::count(devices_.begin(), devices_.end(), devices_[r]);
    blocks = std::min<uint64_t>(blocks, c.num_blocks / sharing);
    free_bytes = std::min<uint64_t>(free_bytes, c.free_bytes / sharing);
    weights += c.weight_bytes;
    if (r == 0) out.block_bytes = c.block_bytes, out.total_bytes = c.total_bytes;
    if (r == 0 || devices_[r] != devices_[r - 1]) where += (where.empty() ? "" : ", ") + ranks_[r]->device_name();
  }
  out.num_blocks = static_cast<uint32_t>(blocks);
  out.free_bytes = free_bytes;
  out.weight_bytes = weights;
  lmrt::plugin::copy_text(out.device, "tp " + std::to_string(ranks_.size()) + " on " + where);
}

void TensorParallelEngine::allocate_cache(const lmrt_cache_config& config) {
  for (auto& rank : ranks_) rank->allocate_cache(config);
}

void TensorParallelEngine::step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  comm_->reset();
  for (size_t r = 1; r < ranks_.size(); ++r) {
    scratch_[r].assign(batch.num_seqs, lmrt_token_logprobs{});
    for (auto& o : scratch_[r]) o.struct_size = sizeof(o);
  }
  threads_->run([&](int r) { ranks_[r]->step(batch, r == 0 ? outputs : scratch_[r].data()); },
                [&] { comm_->abort(); });
}

}  // namespace lmrt::tm
