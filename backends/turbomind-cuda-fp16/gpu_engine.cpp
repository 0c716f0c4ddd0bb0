#include "gpu_engine.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "env_knobs.hpp"
#include "kernels/kernels.hpp"
#include "lmrt/cpp/step_checks.hpp"
#include "sample_row.hpp"

namespace lmrt::tm {
namespace {

using lmrt::plugin::Error;

// Device memory kept out of the KV pool for the CUDA context's growth, cuBLAS's workspace and
// allocator slack, so that a pool of cache_max_entry_count = 1 still leaves the engine runnable.
constexpr uint64_t kReserveBytes = uint64_t(512) << 20;

size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

std::string gib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

// As the cpu engine (backends/cpu/rope.cpp): only dynamic NTK depends on the sequence length.
double rope_base(const ModelShape& s, uint64_t seq_len) {
  const double theta = s.rope_theta;
  if (s.rope_scaling_type != LMRT_ROPE_SCALING_DYNAMIC || seq_len <= s.original_max_position_embeddings) return theta;
  const double factor = s.rope_scaling_factor, dim = s.head_dim;
  const double ratio = factor * static_cast<double>(seq_len) / s.original_max_position_embeddings - (factor - 1.0);
  return theta * std::pow(ratio, dim / (dim - 2.0));
}

// Appends `count` items to a packed host buffer at 16-byte alignment; returns the offset.
struct Packer {
  std::vector<char>& buf;
  template <class T>
  size_t add(const T* data, size_t count) {
    const size_t off = align_up(buf.size(), 16);
    buf.resize(off + count * sizeof(T));
    if (count) std::memcpy(buf.data() + off, data, count * sizeof(T));
    return off;
  }
};

// Decode tokens that see more keys skip attention's L2 prefetch (AttentionPrefetch::max_keys): at 2048 keys the
// internlm2-1_8b shape lost 1% a token with it, at 128 it gained 5% (docs/benchmarks.md).
constexpr int kL2PrefetchMaxKeys = 512;

}  // namespace

GpuEngine::GpuEngine(const lmrt::plugin::Host& host, const EngineConfig& config, const lmrt_model_desc& model,
                     const RankContext& rank)
    : host_(host), rank_(rank), device_(rank.device >= 0 ? rank.device : config.device_id) {
  // The environment's tuning knobs first, so that a bad value fails before any device resource exists.
  // A tuning and test knob: 1 gives every token its own attention block (the results are the same bits); larger
  // values are capped by the attention kernel's most.
  int group_env = 0;
  read_env_int("LMRT_TM_ATTENTION_GROUP", 1, 64, 1, "an integer in [1, 64]", group_env);
  // Chunked attention's chunk size, and whether it spreads one-token groups over a block per chunk.
  int chunk_env = 0;
  read_env_int("LMRT_TM_ATTENTION_CHUNK", 64, 1L << 20, 64, "a multiple of 64", chunk_env);
  // The most rows a GEMM may have to take the skinny kernel.
  const std::string rows_range = "an integer in [1, " + std::to_string(kMaxGemvRows) + "]";
  read_env_int("LMRT_TM_GEMV_ROWS", 1, kMaxGemvRows, 1, rows_range.c_str(), gemv_rows_);
  read_env_flag("LMRT_TM_ATTENTION_SPLIT", attention_split_);
  read_env_flag("LMRT_TM_CUDA_GRAPHS", graphs_enabled_);
  read_env_flag("LMRT_TM_GEMV", gemv_enabled_);
  read_env_flag("LMRT_TM_GEMV_ROPE", gemv_rope_);
  read_env_flag("LMRT_TM_GEMV_SILU", gemv_silu_);
  read_env_flag("LMRT_TM_GEMV_DYNAMIC", gemv_dynamic_);
  read_env_flag("LMRT_TM_GEMV_EARLY", gemv_early_);
  read_env_flag("LMRT_TM_GEMV_NORM_REGISTERS", gemv_norm_registers_);
  int stage_x = static_cast<int>(gemv_stage_x_);
  read_env_int("LMRT_TM_GEMV_STAGE_X", 0, 2, 1, "0, 1 or 2", stage_x);
  gemv_stage_x_ = static_cast<GemvStagePlainX>(stage_x);
  read_env_flag("LMRT_TM_GEMV_HEAD_NORM", gemv_head_norm_);
  read_env_int("LMRT_TM_L2_PREFETCH_MB", 0, 1024, 1, "an integer in [0, 1024]", l2_prefetch_mb_);
  read_env_int("LMRT_TM_L2_PREFETCH_TAIL", 0, 100, 1, "an integer in [0, 100]", l2_prefetch_tail_);
  bool pdl = true;
  read_env_flag("LMRT_TM_PDL", pdl);
  bool tensor_cores = true;
  read_env_flag("LMRT_TM_ATTENTION_TENSOR_CORES", tensor_cores);
  read_env_int("LMRT_TM_LOOKAHEAD", 0, 2, 1, "0, 1 or 2", lookahead_.mode);
  int timeline_level = 0;  // 2: the GEMMs' end marks without their barrier (kernels/timeline.cuh)
  read_env_int("LMRT_TM_TIMELINE", 0, 2, 1, "0, 1 or 2", timeline_level);
  const bool timeline = timeline_level > 0;
  if (timeline && !bind_timeline(Timeline{}))
    throw Error(LMRT_STATUS_CONFIG_ERROR, "turbomind-cuda-fp16: LMRT_TM_TIMELINE=1 (or 2) needs a build with the timeline's "
                                          "marks (cmake -DLMRT_TM_TIMELINE=ON)");
  if (timeline && rank_.num_ranks > 1)
    throw Error(LMRT_STATUS_CONFIG_ERROR, "turbomind-cuda-fp16: LMRT_TM_TIMELINE=1 is for one GPU, not tp " +
                                              std::to_string(rank_.num_ranks));
  if (timeline) lookahead_.mode = 0;  // a step's marks are read after its own wait
  int profile_level = 0;
  read_env_int("LMRT_TM_PROFILE", 0, 2, 1, "0, 1 or 2", profile_level);
  if (profile_level == 2) graphs_enabled_ = false;  // its per-kernel events cannot be read back from a graph
  // The profile times each step from its host work to its results, which a guess in flight would blur.
  if (profile_level > 0) lookahead_.mode = 0;
  // Tensor parallelism: the all-reduces meet on the host between kernels (communicator.hpp), which a graph cannot
  // hold, and follow event waits that programmatic launch would not order.
  if (rank_.num_ranks > 1) graphs_enabled_ = false, pdl = false, lookahead_.mode = 0;
  if (!graphs_enabled_) lookahead_.mode = 0;  // a guess replays a decode graph
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    cudaGetLastError();
    throw Error(LMRT_STATUS_UNSUPPORTED, std::string("turbomind-cuda-fp16: no CUDA device") +
                                             (e != cudaSuccess ? std::string(" (") + cudaGetErrorString(e) + ")" : ""));
  }
  if (device_ >= count)
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: engine.device_id " + std::to_string(device_) +
                                                  " but this machine has " + std::to_string(count) + " CUDA device(s)");
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  cudaDeviceProp prop{};
  check_cuda(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
  if (prop.major < 8)
    throw Error(LMRT_STATUS_UNSUPPORTED, std::string("turbomind-cuda-fp16: ") + prop.name + " (sm_" +
                                             std::to_string(prop.major) + std::to_string(prop.minor) +
                                             ") is too old; this build needs sm_80 or newer");
  device_name_ = "cuda:" + std::to_string(device_) + " " + prop.name;
  sm_count_ = prop.multiProcessorCount;
  // Programmatic dependent launch needs sm_90; the switch is process-wide (kernels.hpp), as the devices of one
  // process are of one kind here.
  set_programmatic_dependent_launch(pdl && prop.major >= 9);
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  try {
    check_cublas(cublasCreate(&cublas_), "cublasCreate");
    check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
    if (graphs_enabled_) {  // cuBLAS must not allocate while a graph is being captured
      cublas_workspace_.allocate(size_t(32) << 20, "cuBLAS's workspace");
      check_cublas(cublasSetWorkspace(cublas_, cublas_workspace_.get(), cublas_workspace_.bytes()), "cublasSetWorkspace");
    }
    model_ = std::make_unique<DeviceModel>(model, config.dtype, stream_);
  } catch (...) {
    if (cublas_) cublasDestroy(cublas_);
    cudaStreamDestroy(stream_);
    throw;
  }
  penalty_slot_.assign(model_->shape.vocab_size, -1);
  {
    const ModelShape& s = model_->shape;
    // The chain's GEMMs read X in pieces of 8 elements (the weights are 256-byte aligned in their arena) and stage
    // the norm's and SiLU's rows in shared memory; longer steps take the unchained path.
    if (s.hidden_size % 8 == 0 && s.q_rows() % 8 == 0 && s.intermediate_size % 8 == 0) {
      const size_t widest_row = size_t(std::max(s.hidden_size, s.intermediate_size)) * dtype_size(model_->dtype);
      gemv_chain_rows_ = static_cast<int>(std::min<size_t>(gemv_rows_, kMaxGemvStageBytes / widest_row));
    }
    if (gemv_enabled_ && !prepare_gemv(model_->dtype)) {
      cudaGetLastError();
      gemv_enabled_ = false;
      host_.log(LMRT_LOG_WARN, "turbomind-cuda-fp16: the skinny-GEMM kernels do not load on " + device_name_ +
                                   "; small steps use cuBLAS");
    }
    const int hpg = static_cast<int>(s.num_heads / s.num_kv_heads);
    tensor_cores_ = tensor_cores && tensor_core_attention_supports(static_cast<int>(s.head_dim), hpg);
    const int most = tensor_cores_ ? tensor_core_attention_max_group(hpg) : kMaxAttentionGroup;
    attention_group_ = group_env > 0 ? std::min(group_env, most) : most;
    // Chunks of one key tile on tensor cores, so that a decode token's tiles run in blocks side by side; the
    // CUDA-core kernel's chunks hold whole 4-warp rounds of 32 keys.
    attention_chunk_ = chunk_env > 0 ? chunk_env : (tensor_cores_ ? 64 : 256);
    if (!tensor_cores_ && attention_chunk_ % 128 != 0)
      throw Error(LMRT_STATUS_CONFIG_ERROR,
                  "turbomind-cuda-fp16: LMRT_TM_ATTENTION_CHUNK=" + std::to_string(attention_chunk_) +
                      " is not a multiple of 128, which the CUDA-core attention kernel needs");
  }
  profile_ = std::make_unique<StepProfile>(profile_level);
  if (timeline) {
    constexpr unsigned kEvents = 1u << 18;  // a step's blocks: some 300 a kernel, 5 kernels a layer
    timeline_events_.allocate(256 + size_t(kEvents) * sizeof(TimelineEvent), "the step timeline");
    timeline_view_ = {timeline_events_.as<unsigned>(), kEvents,
                      reinterpret_cast<TimelineEvent*>(timeline_events_.as<char>() + 256), timeline_level == 1 ? 1u : 0u};
    bind_timeline(timeline_view_);
    timeline_ = std::make_unique<StepTimeline>();
  }
  const std::string who =
      rank_.num_ranks > 1 ? " rank " + std::to_string(rank_.rank) + "/" + std::to_string(rank_.num_ranks) : "";
  host_.log(LMRT_LOG_INFO, "turbomind-cuda-fp16" + who + " ready on " + device_name_ + ": weights " +
                               gib(model_->bytes()) + " (" + model_->dtype_name() + "), attention on " +
                               (tensor_cores_ ? "tensor cores" : "CUDA cores") + ", CUDA graphs " +
                               (graphs_enabled_ ? "on" : "off") + ", skinny GEMM " +
                               (gemv_enabled_ ? "for up to " + std::to_string(gemv_rows_) + " rows" : "off") +
                               ", programmatic dependent launch " + (pdl && prop.major >= 9 ? "on" : "off"));
}

GpuEngine::~GpuEngine() {
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  for (cudaEvent_t& e : guess_done_)
    if (e) cudaEventDestroy(e), e = nullptr;
  if (lookahead_.guessed > 0)
    host_.log(LMRT_LOG_INFO, "turbomind-cuda-fp16 lookahead: " + std::to_string(lookahead_.used) + " of " +
                                 std::to_string(lookahead_.guessed) + " guessed sequence steps used; " +
                                 std::to_string(lookahead_.fed) + " of " + std::to_string(lookahead_.launches) +
                                 " guesses fed on the device");
  if (timeline_) {
    bind_timeline(Timeline{});
    const std::string report = timeline_->report();
    if (!report.empty()) host_.log(LMRT_LOG_INFO, "turbomind-cuda-fp16 " + report);
  }
  if (profile_ && profile_->enabled()) {
    const std::string report = profile_->report();
    if (!report.empty()) host_.log(LMRT_LOG_INFO, "turbomind-cuda-fp16 profile:\n" + report);
  }
  profile_.reset();
  graphs_.clear();
  graph_attention_.clear();
  graph_partials_.reset();
  partials_.reset();
  ws_.buffer.reset();
  kv_.reset();
  d_meta_.reset();
  d_results_.reset();
  model_.reset();
  if (cublas_) cublasDestroy(cublas_);
  if (stream_) cudaStreamDestroy(stream_);
}

uint64_t GpuEngine::workspace_bytes(size_t tokens, size_t rows, Workspace* w) const {
  const ModelShape& s = model_->shape;
  const size_t e = 2;  // fp16 / bf16
  size_t off = 0;
  auto take = [&](size_t bytes) {
    const size_t at = off;
    off = align_up(off + bytes, 256);
    return at;
  };
  const size_t x = take(tokens * s.hidden_size * 4);
  const size_t xn = take(tokens * s.hidden_size * e);
  const size_t qkv = take(tokens * s.qkv_rows() * e);
  const size_t attn = take(tokens * s.q_rows() * e);
  const size_t tmp = take(tokens * s.hidden_size * e);
  const size_t gate_up = take(tokens * 2 * s.intermediate_size * e);
  const size_t act = take(tokens * s.intermediate_size * e);
  const size_t rc = take(tokens * (s.head_dim / 2) * 4);
  const size_t rs = take(tokens * (s.head_dim / 2) * 4);
  const size_t part = take(rank_.num_ranks > 1 ? tokens * s.hidden_size * 4 : 0);
  const size_t xl = take(rows * s.hidden_size * e);
  const size_t lg = take(rows * s.vocab_size * 4);
  const size_t z = take(rows * s.vocab_size * 4);
  const size_t p = take(rows * s.vocab_size * 8);
  const size_t sc = take(tokens * s.num_kv_heads * 4);
  const size_t ss = take(rows * kSamplingSlices * sizeof(SamplingSlice));
  const size_t scnt = take(rows * 4);
  const size_t gt = take(sizeof(unsigned));
  if (w) {
    char* b = w->buffer.as<char>();
    w->x = reinterpret_cast<float*>(b + x);
    w->xn = b + xn;
    w->qkv = b + qkv;
    w->attn = b + attn;
    w->tmp = b + tmp;
    w->gate_up = b + gate_up;
    w->act = b + act;
    w->rope_cos = reinterpret_cast<float*>(b + rc);
    w->rope_sin = reinterpret_cast<float*>(b + rs);
    w->partial = reinterpret_cast<float*>(b + part);
    w->x_last = b + xl;
    w->logits = reinterpret_cast<float*>(b + lg);
    w->z = reinterpret_cast<float*>(b + z);
    w->p = reinterpret_cast<double*>(b + p);
    w->split_counters = reinterpret_cast<unsigned*>(b + sc);
    w->sample_slices = reinterpret_cast<SamplingSlice*>(b + ss);
    w->sample_counters = reinterpret_cast<unsigned*>(b + scnt);
    w->gemv_tiles_taken = reinterpret_cast<unsigned*>(b + gt);
  }
  return off;
}

void GpuEngine::ensure_workspace(size_t tokens, size_t rows) {
  if (tokens <= ws_.tokens && rows <= ws_.rows && ws_.buffer.get()) return;
  tokens = std::max({tokens, ws_.tokens, size_t(1)});
  rows = std::max({rows, ws_.rows, size_t(1)});
  check_cuda(cudaStreamSynchronize(stream_), "synchronizing before a workspace resize");
  ++buffer_epoch_;
  ws_.buffer.reset();
  ws_.buffer.allocate(workspace_bytes(tokens, rows, nullptr), "the step workspace");
  ws_.tokens = tokens;
  ws_.rows = rows;
  workspace_bytes(tokens, rows, &ws_);
  check_cuda(cudaMemsetAsync(ws_.split_counters, 0, tokens * model_->shape.num_kv_heads * sizeof(unsigned), stream_),
             "clearing the attention split counters");
  check_cuda(cudaMemsetAsync(ws_.sample_counters, 0, rows * sizeof(unsigned), stream_), "clearing the sampling counters");
  check_cuda(cudaMemsetAsync(ws_.gemv_tiles_taken, 0, sizeof(unsigned), stream_), "clearing the skinny GEMM's counter");
}

void GpuEngine::capacity(const lmrt_capacity_query& q, lmrt_capacity& out) {
  if (q.struct_size < sizeof(lmrt_capacity_query))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: capacity query struct_size is too small");
  if (out.struct_size < sizeof(lmrt_capacity))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: capacity out.struct_size is too small");
  if (q.block_seq_len == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: capacity: block_seq_len is 0");
  if (!(q.cache_max_entry_count > 0.f && q.cache_max_entry_count <= 1.f))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT,
                "turbomind-cuda-fp16: capacity: cache_max_entry_count must be in (0, 1], got " +
                    std::to_string(q.cache_max_entry_count));
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  const ModelShape& s = model_->shape;
  size_t free_b = 0, total_b = 0;
  check_cuda(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo");
  // The workspace is allocated with the pool; what it already holds is already out of free_b.
  const uint64_t want_ws = workspace_bytes(std::max<size_t>(q.max_step_tokens, 1), std::max<size_t>(q.max_batch_size, 1), nullptr);
  const uint64_t workspace = want_ws > ws_.buffer.bytes() ? want_ws - ws_.buffer.bytes() : 0;
  // So are the decode graphs' attention partials, allocated with the pool when graphs are on.
  const uint64_t want_gp = graphs_enabled_ ? graph_partials_bytes(q.max_session_len) : 0;
  const uint64_t graph_partials = want_gp > graph_partials_.bytes() ? want_gp - graph_partials_.bytes() : 0;
  const uint64_t taken = workspace + graph_partials + kReserveBytes;
  const uint64_t free_after = free_b > taken ? free_b - taken : 0;
  const uint64_t block_bytes = 2ull * s.num_layers * s.num_kv_heads * s.head_dim * q.block_seq_len * 2;
  const double pool = std::floor(static_cast<double>(free_after) * static_cast<double>(q.cache_max_entry_count));
  const uint64_t blocks = static_cast<uint64_t>(pool) / block_bytes;
  out.num_blocks = static_cast<uint32_t>(std::min<uint64_t>(blocks, std::numeric_limits<int32_t>::max()));
  out.block_bytes = block_bytes;
  out.weight_bytes = model_->bytes();
  out.free_bytes = free_after;
  out.total_bytes = total_b;
  lmrt::plugin::copy_text(out.device, device_name_);
  query_ = q;
}

void GpuEngine::allocate_cache(const lmrt_cache_config& c) {
  if (c.struct_size < sizeof(lmrt_cache_config))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: config struct_size is too small");
  if (kv_.get()) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: the KV cache is already allocated");
  if (c.num_blocks == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: num_blocks is 0");
  if (c.block_seq_len == 0) throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: block_seq_len is 0");
  if (query_ && query_->block_seq_len != c.block_seq_len)
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: block_seq_len " +
                                                  std::to_string(c.block_seq_len) + " differs from the " +
                                                  std::to_string(query_->block_seq_len) + " given to capacity");
  if (c.num_blocks > static_cast<uint32_t>(std::numeric_limits<int32_t>::max()))
    throw Error(LMRT_STATUS_INVALID_ARGUMENT, "turbomind-cuda-fp16: allocate_cache: num_blocks is too large");
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  const bool graphs = graphs_enabled_ && query_ && query_->max_session_len > 0;
  if (query_) {
    const size_t rows = std::max<size_t>(query_->max_batch_size, 1);
    ensure_workspace(std::max<size_t>(query_->max_step_tokens, graphs ? DecodeGraphs::kMaxBatch : 1),
                     graphs ? std::max<size_t>(rows, DecodeGraphs::kMaxBatch) : rows);
  }
  const ModelShape& s = model_->shape;
  const uint64_t block_bytes = 2ull * s.num_layers * s.num_kv_heads * s.head_dim * c.block_seq_len * 2;
  // With graphs, one more block than the pool: where the padding rows of a bucket write their KV.
  kv_.allocate(block_bytes * (c.num_blocks + (graphs ? 1 : 0)),
               ("the KV cache (" + std::to_string(c.num_blocks) + " blocks)").c_str());
  kv_blocks_ = c.num_blocks;
  block_seq_len_ = c.block_seq_len;
  if (graphs) {
    scratch_block_ = static_cast<int32_t>(c.num_blocks);
    graph_table_cap_ = (query_->max_session_len + c.block_seq_len - 1) / c.block_seq_len + 1;
    const size_t B = DecodeGraphs::kMaxBatch;
    const MetaLayout g = graph_meta_layout(B, graph_table_cap_);  // the largest bucket's
    h_graph_meta_.ensure(g.bytes);
    std::memset(h_graph_meta_.get(), 0, g.bytes);
    for (PinnedBuffer& b : h_guess_meta_) b.ensure(g.bytes), std::memset(b.get(), 0, g.bytes);
    d_graph_meta_.allocate(g.bytes, "the decode graphs' metadata");
    d_results_.allocate(B * sizeof(SampleResult), "sampling results");
    h_results_.ensure(d_results_.bytes());
    for (int b = 0; b < 2; ++b) {
      h_guess_results_[b].ensure(d_results_.bytes());
      check_cuda(cudaEventCreateWithFlags(&guess_done_[b], cudaEventDisableTiming), "creating a lookahead event");
    }
    graph_max_chunks_ = graph_chunks(query_->max_session_len);
    graph_partials_.allocate(graph_partials_bytes(query_->max_session_len), "the decode graphs' attention partials");
    ++buffer_epoch_;
  }
  host_.log(LMRT_LOG_INFO, "turbomind-cuda-fp16: KV cache of " + std::to_string(c.num_blocks) + " blocks x " +
                               std::to_string(c.block_seq_len) + " tokens (" + gib(block_bytes * c.num_blocks) + ")");
}

uint32_t GpuEngine::graph_chunks(uint32_t max_session_len) const {
  return (max_session_len + attention_chunk_ - 1) / attention_chunk_;
}

// As many blocks as fit the GPU at once (two an SM), never more: a bucket of few sequences deals each one's chunks
// over several blocks. Rounded up, llama-2-7b's 32 KV heads took 9 slots, 288 blocks on 264 places, and the 24
// left over ran as a second wave (batch 1: 4.24 against 3.88 ms a token at 128 tokens, 4.86 against 4.32 at 2048).
int GpuEngine::graph_slots(uint32_t bucket, uint32_t max_chunks) const {
  if (!attention_split_) return 1;
  const uint64_t blocks = uint64_t(bucket) * (tensor_cores_ ? model_->shape.num_kv_heads : model_->shape.num_heads);
  const uint64_t want = (2ull * sm_count_) / blocks;
  return static_cast<int>(std::max<uint64_t>(1, std::min<uint64_t>(want, max_chunks)));
}

// The split buckets' partials: a row per chunk of the longest session for each sequence of the largest split bucket.
uint64_t GpuEngine::graph_partials_bytes(uint32_t max_session_len) const {
  if (max_session_len == 0) return 0;
  const uint32_t chunks = graph_chunks(max_session_len);
  uint64_t rows = 0;
  for (uint32_t b = 1; b <= DecodeGraphs::kMaxBatch; b <<= 1)
    if (graph_slots(b, chunks) > 1) rows = std::max<uint64_t>(rows, uint64_t(b) * chunks);
  return rows * partial_row_bytes();
}

size_t GpuEngine::partial_row_bytes() const {
  const ModelShape& s = model_->shape;
  return size_t(s.num_heads) * attention_partial_floats(static_cast<int>(s.head_dim)) * sizeof(float);
}

const GpuEngine::GraphAttention& GpuEngine::graph_attention(uint32_t bucket) {
  auto it = graph_attention_.find(bucket);
  if (it != graph_attention_.end()) return it->second;
  GraphAttention ga;
  ga.slots = graph_slots(bucket, graph_max_chunks_);
  std::vector<AttentionWork> work;
  std::vector<AttentionSplit> splits;
  const int32_t rows = static_cast<int32_t>(graph_max_chunks_);
  for (int32_t i = 0; i < static_cast<int32_t>(bucket); ++i) {
    if (ga.slots == 1) {
      work.push_back({i, -1, 0, 1});
      continue;
    }
    for (int32_t c = 0; c < ga.slots; ++c) work.push_back({i, c, i * rows, ga.slots});
    splits.push_back({i, i * rows, rows});
  }
  ga.num_items = static_cast<int>(work.size());
  ga.num_splits = static_cast<int>(splits.size());
  const size_t wb = work.size() * sizeof(AttentionWork), sb = splits.size() * sizeof(AttentionSplit);
  ga.work.allocate(wb + sb, "a decode graph's attention work");
  check_cuda(cudaMemcpy(ga.work.get(), work.data(), wb, cudaMemcpyHostToDevice),
             "uploading a decode graph's attention work");
  if (sb)
    check_cuda(cudaMemcpy(ga.work.as<char>() + wb, splits.data(), sb, cudaMemcpyHostToDevice),
               "uploading a decode graph's attention work");
  return graph_attention_.emplace(bucket, std::move(ga)).first->second;
}

void GpuEngine::step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  checks::validate_step("turbomind-cuda-fp16", &batch, outputs,
                        checks::StepLimits{model_->shape.vocab_size, kv_blocks_, block_seq_len_});
  const uint32_t S = batch.num_seqs;
  if (S == 0) return;
  check_cuda(cudaSetDevice(device_), "cudaSetDevice");
  const bool hinted =
      lookahead_.mode > 0 && LMRT_HAS_FIELD(&batch, lmrt_step_batch, flags) && (batch.flags & LMRT_STEP_NEXT_IS_DECODE);
  // A guess's failure leaves this step's results standing; the next step reports a device fault.
  auto guarded = [&](auto&& work) {
    try {
      return work();
    } catch (const std::exception& ex) {
      guess_.clear();
      lookahead_.mode = 0;
      host_.log(LMRT_LOG_WARN, std::string("turbomind-cuda-fp16: decode lookahead turned off: ") + ex.what());
      return false;
    }
  };
  std::optional<bool> prepared;  // the next guess laid out (but for its tokens), once tried
  if (guess_.pending()) {
    // The guess's results serve the sequences whose input is what it computed; the others run now, after it.
    std::vector<int> hit(S);
    std::vector<lmrt_step_seq> rest;
    std::vector<uint32_t> rest_index;
    bool in_order = true;  // sequence i is the guess's row i, for every i: what a fed guess needs
    for (uint32_t i = 0; i < S; ++i) {
      hit[i] = guess_.match(batch.seqs[i]);
      in_order = in_order && hit[i] == static_cast<int>(i);
      if (hit[i] < 0) rest.push_back(batch.seqs[i]), rest_index.push_back(i);
    }
    const uint32_t guessed = static_cast<uint32_t>(guess_.seqs().size());
    const int done = guess_results_at_;  // where the guess's results land
    guess_.clear();
    // While the GPU runs the guess: lay out the next one, and with LMRT_TM_LOOKAHEAD=2, when every sequence took
    // the guess in its own row, launch it behind this one, its rows fed the guess's samples on the device, so that
    // the GPU goes on while the host waits.
    bool fed = false;
    if (hinted) {
      prepared = guarded([&] { return prepare_guess(batch); });
      if (*prepared && lookahead_.mode == 2 && in_order) fed = guarded([&] { return launch_guess(nullptr); });
    }
    check_cuda(cudaEventSynchronize(guess_done_[done]), "the step guessed ahead");
    const SampleResult* res = reinterpret_cast<const SampleResult*>(h_guess_results_[done].get());
    for (uint32_t i = 0; i < S; ++i)
      if (hit[i] >= 0) copy_result(res[hit[i]], outputs[i]);
    lookahead_.guessed += guessed, lookahead_.used += S - static_cast<uint32_t>(rest.size());
    if (fed) {
      for (uint32_t i = 0; i < S; ++i) next_guess_[i].token = outputs[i].token;
      start_guess();
      return;
    }
    if (!rest.empty()) {
      std::vector<lmrt_token_logprobs> rest_out(rest.size());
      for (auto& o : rest_out) o.struct_size = sizeof o;
      const lmrt_step_batch sub{sizeof sub, static_cast<uint32_t>(rest.size()), rest.data(), 0, 0};
      run_step(sub, rest_out.data());
      for (size_t k = 0; k < rest.size(); ++k) copy_output(rest_out[k], outputs[rest_index[k]]);
    }
  } else {
    run_step(batch, outputs);
  }
  if (!hinted || lookahead_.mode == 0) return;
  if (!prepared) prepared = guarded([&] { return prepare_guess(batch); });
  if (*prepared) guarded([&] { return launch_guess(outputs); });
}

void GpuEngine::run_step(const lmrt_step_batch& batch, lmrt_token_logprobs* outputs) {
  const ModelShape& s = model_->shape;
  const uint32_t S = batch.num_seqs;
  profile_->begin_step();

  // Lay out the step on the host.
  std::vector<int32_t> tokens, token_pos, token_seq, table_offset(S), tables, last_rows, banned, group_first;
  int max_group = 0;
  std::vector<double> seq_base(S);
  std::vector<SampleRow> rows;
  std::vector<PenaltyEntry> penalties;
  std::vector<uint32_t> sampled;
  for (uint32_t i = 0; i < S; ++i) {
    const lmrt_step_seq& q = batch.seqs[i];
    table_offset[i] = static_cast<int32_t>(tables.size());
    tables.insert(tables.end(), q.block_table, q.block_table + q.num_blocks);
    seq_base[i] = rope_base(s, uint64_t(q.start_pos) + q.num_tokens);
    for (uint32_t k = 0; k < q.num_tokens; ++k) {
      if (k % attention_group_ == 0) group_first.push_back(static_cast<int32_t>(tokens.size()));
      tokens.push_back(q.tokens[k]);
      token_pos.push_back(static_cast<int32_t>(q.start_pos + k));
      token_seq.push_back(static_cast<int32_t>(i));
    }
    if (q.num_tokens > 0) max_group = std::max(max_group, static_cast<int>(std::min<uint32_t>(q.num_tokens, attention_group_)));
    if (!q.sampling) continue;
    const lmrt_sampling_params& p = *q.sampling;
    sampled.push_back(i);
    last_rows.push_back(static_cast<int32_t>(tokens.size() - 1));
    SampleRow r = sample_row(p, uint64_t(q.start_pos) + q.num_tokens);
    // Distinct penalty tokens with their counts among the generated ones.
    r.penalty_offset = static_cast<int32_t>(penalties.size());
    const bool rep = p.repetition_penalty != 1.f;
    const bool pf = p.presence_penalty != 0.f || p.frequency_penalty != 0.f;
    if (rep || pf) {
      const uint32_t first_generated = p.num_penalty_tokens - p.num_generated;
      for (uint32_t k = rep ? 0 : first_generated; k < p.num_penalty_tokens; ++k) {
        const int32_t t = p.penalty_tokens[k];
        int32_t& slot = penalty_slot_[t];
        if (slot < 0) slot = static_cast<int32_t>(penalties.size()), penalties.push_back({t, 0});
        if (k >= first_generated) ++penalties[slot].generated_count;
      }
      for (size_t k = r.penalty_offset; k < penalties.size(); ++k) penalty_slot_[penalties[k].token] = -1;
    }
    r.penalty_count = static_cast<int32_t>(penalties.size()) - r.penalty_offset;
    r.banned_offset = static_cast<int32_t>(banned.size());
    banned.insert(banned.end(), p.banned_tokens, p.banned_tokens + p.num_banned_tokens);
    r.banned_count = static_cast<int32_t>(p.num_banned_tokens);
    rows.push_back(r);
  }
  const size_t T = tokens.size(), R = rows.size();
  if (graph_table_cap_ > 0 && T == S && R == S && S <= DecodeGraphs::kMaxBatch && penalties.empty() && banned.empty()) {
    bool fits = true;
    for (uint32_t i = 0; i < S; ++i) fits = fits && batch.seqs[i].num_blocks <= graph_table_cap_;
    if (fits && step_with_graph(tokens, token_pos, tables, table_offset, seq_base, rows)) {
      read_results(sampled, S, outputs);
      return;
    }
  }
  AttentionPlan plan;
  plan.num_groups = static_cast<int>(group_first.size());
  plan.max_group = max_group;
  group_first.push_back(static_cast<int32_t>(T));
  // Every group is one attention work item, except one-token groups with more than one chunk of keys, which take
  // a work item per chunk and a combine.
  std::vector<AttentionWork> work;
  std::vector<AttentionSplit> splits;
  int32_t partial_rows = 0;
  for (int k = 0; k < plan.num_groups; ++k) {
    const int32_t t0 = group_first[k];
    const int32_t n = token_pos[t0] + 1;
    const int32_t chunks = (n + attention_chunk_ - 1) / attention_chunk_;
    if (attention_split_ && group_first[k + 1] - t0 == 1 && chunks > 1) {
      for (int32_t c = 0; c < chunks; ++c) work.push_back({k, c, partial_rows, chunks});
      splits.push_back({t0, partial_rows, chunks});
      partial_rows += chunks;
    } else {
      work.push_back({k, -1, 0, 1});
    }
  }
  // Longest items first: blocks start in item order (an item's KV heads side by side), and a prompt's last groups
  // (the most keys) starting last left the GPU waiting on a few long blocks. Items are independent, so their order
  // changes no bit.
  {
    // A block's time goes with the keys it walks (its rows share each tile).
    auto cost = [&](const AttentionWork& w) -> int32_t {
      if (w.chunk >= 0) return attention_chunk_;
      return token_pos[group_first[w.group + 1] - 1] + 1;
    };
    std::stable_sort(work.begin(), work.end(),
                     [&](const AttentionWork& a, const AttentionWork& b) { return cost(a) > cost(b); });
  }
  plan.num_items = static_cast<int>(work.size());
  plan.num_splits = static_cast<int>(splits.size());
  const size_t need = size_t(partial_rows) * partial_row_bytes();
  if (partials_.bytes() < need) {
    check_cuda(cudaStreamSynchronize(stream_), "synchronizing before growing the attention partials");
    partials_.allocate(std::max(need, partials_.bytes() * 2), "the attention partials");
  }
  plan.partials = partials_.as<float>();
  ensure_workspace(T, R);

  std::vector<char> packed;
  Packer pk{packed};
  MetaLayout m{};
  m.tokens = pk.add(tokens.data(), T), m.pos = pk.add(token_pos.data(), T), m.seq = pk.add(token_seq.data(), T);
  m.table_offset = pk.add(table_offset.data(), S), m.tables = pk.add(tables.data(), tables.size());
  m.seq_base = pk.add(seq_base.data(), S), m.last_rows = pk.add(last_rows.data(), R);
  m.rows = pk.add(rows.data(), R), m.penalties = pk.add(penalties.data(), penalties.size());
  m.banned = pk.add(banned.data(), banned.size());
  m.groups = pk.add(group_first.data(), group_first.size());
  const size_t o_work = pk.add(work.data(), work.size()), o_splits = pk.add(splits.data(), splits.size());
  h_meta_.ensure(packed.size());
  std::memcpy(h_meta_.get(), packed.data(), packed.size());
  if (d_meta_.bytes() < packed.size()) d_meta_.allocate(std::max(packed.size() * 2, size_t(1) << 16), "step metadata");
  check_cuda(cudaMemcpyAsync(d_meta_.get(), h_meta_.get(), packed.size(), cudaMemcpyHostToDevice, stream_),
             "uploading the step");
  const char* d = d_meta_.as<char>();
  point_at(d, m);
  sp_.attention_work = reinterpret_cast<const AttentionWork*>(d + o_work);
  sp_.attention_splits = reinterpret_cast<const AttentionSplit*>(d + o_splits);

  // Ranks past the first stop after the layers: rank 0 holds the same hidden state and samples for all.
  const bool samples = rank_.rank == 0 && R > 0;
  profile_->before_forward(stream_);
  bool rows_are_tokens = R == T;
  for (size_t i = 0; i < R && rows_are_tokens; ++i) rows_are_tokens = last_rows[i] == static_cast<int32_t>(i);
  forward(static_cast<int>(T), samples ? static_cast<int>(R) : 0, plan, rows_are_tokens);
  profile_->after_forward(stream_);

  if (samples) {
    if (d_results_.bytes() < R * sizeof(SampleResult)) {
      ++buffer_epoch_;
      d_results_.allocate(std::max<size_t>(R, 64) * sizeof(SampleResult), "sampling results");
    }
    h_results_.ensure(d_results_.bytes());
    launch_sampling(ws_.logits, static_cast<int>(s.vocab_size), sp_.rows, static_cast<int>(R), sp_.penalties, sp_.banned,
                    ws_.z, ws_.p, ws_.sample_slices, ws_.sample_counters, d_results_.as<SampleResult>(), stream_);
    check_cuda(cudaGetLastError(), "launching the sampling kernel");
    profile_->after_sampling(stream_);
    check_cuda(cudaMemcpyAsync(h_results_.get(), d_results_.get(), R * sizeof(SampleResult), cudaMemcpyDeviceToHost, stream_),
               "reading the sampled tokens");
  }
  check_cuda(cudaStreamSynchronize(stream_), "the step");
  profile_->end_step(T == S, T);
  read_results(samples ? sampled : std::vector<uint32_t>{}, S, outputs);
}

void GpuEngine::point_at(const char* d, const MetaLayout& m) {
  sp_.tokens = reinterpret_cast<const int32_t*>(d + m.tokens);
  sp_.token_pos = reinterpret_cast<const int32_t*>(d + m.pos);
  sp_.token_seq = reinterpret_cast<const int32_t*>(d + m.seq);
  sp_.table_offset = reinterpret_cast<const int32_t*>(d + m.table_offset);
  sp_.block_tables = reinterpret_cast<const int32_t*>(d + m.tables);
  sp_.seq_base = reinterpret_cast<const double*>(d + m.seq_base);
  sp_.last_rows = reinterpret_cast<const int32_t*>(d + m.last_rows);
  sp_.rows = reinterpret_cast<const SampleRow*>(d + m.rows);
  sp_.penalties = reinterpret_cast<const PenaltyEntry*>(d + m.penalties);
  sp_.banned = reinterpret_cast<const int32_t*>(d + m.banned);
  sp_.group_first = reinterpret_cast<const int32_t*>(d + m.groups);
  sp_.fed_rows = nullptr;  // graphs only (step_with_graph)
}

void GpuEngine::fill_graph_meta(char* h, const std::vector<int32_t>& tokens, const std::vector<int32_t>& token_pos,
                                const std::vector<int32_t>& tables, const std::vector<int32_t>& table_offset,
                                const std::vector<double>& seq_base, const std::vector<SampleRow>& rows) const {
  const uint32_t S = static_cast<uint32_t>(tokens.size()), B = DecodeGraphs::bucket(S);
  const MetaLayout g = graph_meta_layout(B, graph_table_cap_);
  auto at = [&](size_t off) { return h + off; };
  int32_t* tok = reinterpret_cast<int32_t*>(at(g.tokens));
  int32_t* pos = reinterpret_cast<int32_t*>(at(g.pos));
  int32_t* seq = reinterpret_cast<int32_t*>(at(g.seq));
  int32_t* toff = reinterpret_cast<int32_t*>(at(g.table_offset));
  int32_t* tab = reinterpret_cast<int32_t*>(at(g.tables));
  double* base = reinterpret_cast<double*>(at(g.seq_base));
  int32_t* last = reinterpret_cast<int32_t*>(at(g.last_rows));
  SampleRow* row = reinterpret_cast<SampleRow*>(at(g.rows));
  int32_t* groups = reinterpret_cast<int32_t*>(at(g.groups));
  // One token per sequence: token, row and group i are sequence i; the padding rows are a dummy sequence S.
  for (uint32_t i = 0; i < B; ++i) {
    const bool real = i < S;
    tok[i] = real ? tokens[i] : 0;
    pos[i] = real ? token_pos[i] : 0;
    seq[i] = static_cast<int32_t>(real ? i : S);
    last[i] = static_cast<int32_t>(i);
    groups[i] = static_cast<int32_t>(i);
    if (real) {
      row[i] = rows[i];
    } else {
      row[i] = SampleRow{};
      row[i].top_p = 1.f, row[i].repetition_penalty = 1.f, row[i].position = 1;  // greedy, dropped
    }
  }
  groups[B] = static_cast<int32_t>(B);
  for (uint32_t i = 0; i <= S; ++i) toff[i] = static_cast<int32_t>(i * graph_table_cap_);
  for (uint32_t i = 0; i < S; ++i) {
    const size_t end = i + 1 < S ? size_t(table_offset[i + 1]) : tables.size();
    std::copy(tables.begin() + table_offset[i], tables.begin() + end, tab + size_t(i) * graph_table_cap_);
    base[i] = seq_base[i];
  }
  tab[size_t(S) * graph_table_cap_] = scratch_block_;
  base[S] = model_->shape.rope_theta;
  *reinterpret_cast<int32_t*>(at(g.fed_rows)) = 0;  // the tokens above (launch_guess may feed them instead)
}

bool GpuEngine::step_with_graph(const std::vector<int32_t>& tokens, const std::vector<int32_t>& token_pos,
                                const std::vector<int32_t>& tables, const std::vector<int32_t>& table_offset,
                                const std::vector<double>& seq_base, const std::vector<SampleRow>& rows) {
  const uint32_t S = static_cast<uint32_t>(tokens.size()), B = DecodeGraphs::bucket(S);
  const MetaLayout g = graph_meta_layout(B, graph_table_cap_);
  char* h = h_graph_meta_.get();
  fill_graph_meta(h, tokens, token_pos, tables, table_offset, seq_base, rows);
  check_cuda(cudaMemcpyAsync(d_graph_meta_.get(), h, g.bytes, cudaMemcpyHostToDevice, stream_), "uploading the step");

  point_at(d_graph_meta_.as<char>(), g);
  sp_.fed_rows = reinterpret_cast<const int32_t*>(d_graph_meta_.as<char>() + g.fed_rows);
  const GraphAttention& ga = graph_attention(B);
  sp_.attention_work = ga.work.as<const AttentionWork>();
  sp_.attention_splits = reinterpret_cast<const AttentionSplit*>(sp_.attention_work + ga.num_items);

  cudaGraphExec_t exec = graphs_.find(B, buffer_epoch_);
  if (!exec) {
    AttentionPlan plan;
    plan.num_groups = static_cast<int>(B);
    plan.max_group = 1;
    plan.num_items = ga.num_items;
    plan.num_splits = ga.num_splits;
    plan.partials = graph_partials_.as<float>();
    const int vocab = static_cast<int>(model_->shape.vocab_size);
    cudaGraph_t graph = nullptr;
    check_cuda(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal), "beginning a decode graph capture");
    std::string failure;
    try {
      forward(static_cast<int>(B), static_cast<int>(B), plan, true);
      launch_sampling(ws_.logits, vocab, sp_.rows, static_cast<int>(B), sp_.penalties, sp_.banned, ws_.z, ws_.p,
                      ws_.sample_slices, ws_.sample_counters, d_results_.as<SampleResult>(), stream_);
    } catch (const std::exception& ex) {
      failure = ex.what();  // the capture must still be ended, or the stream stays unusable
    }
    const cudaError_t ce = cudaStreamEndCapture(stream_, &graph);
    cudaError_t ie = cudaErrorUnknown;
    if (ce == cudaSuccess && graph) ie = cudaGraphInstantiate(&exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (!failure.empty() || ce != cudaSuccess || ie != cudaSuccess) {
      cudaGetLastError();
      graphs_enabled_ = false;
      graph_table_cap_ = 0;
      host_.log(LMRT_LOG_WARN, "turbomind-cuda-fp16: CUDA graphs turned off, capturing a decode step failed: " +
                                   (failure.empty() ? std::string(cudaGetErrorString(ce != cudaSuccess ? ce : ie)) : failure));
      return false;  // nothing ran during the capture: the caller runs the step eagerly
    }
    graphs_.put(B, buffer_epoch_, exec);
  }
  if (timeline_)
    check_cuda(cudaMemsetAsync(timeline_view_.cursor, 0, sizeof(unsigned), stream_), "clearing the step timeline");
  profile_->before_forward(stream_);
  check_cuda(cudaGraphLaunch(exec, stream_), "launching a decode graph");
  profile_->after_forward(stream_);
  check_cuda(cudaMemcpyAsync(h_results_.get(), d_results_.get(), S * sizeof(SampleResult), cudaMemcpyDeviceToHost, stream_),
             "reading the sampled tokens");
  check_cuda(cudaStreamSynchronize(stream_), "the step");
  profile_->end_step(true, S);
  if (timeline_) read_timeline(B);
  return true;
}

void GpuEngine::read_timeline(uint32_t bucket) {
  unsigned count = 0;
  check_cuda(cudaMemcpy(&count, timeline_view_.cursor, sizeof count, cudaMemcpyDeviceToHost), "reading the step timeline");
  std::vector<TimelineEvent> events(std::min(count, timeline_view_.capacity));
  check_cuda(cudaMemcpy(events.data(), timeline_view_.events, events.size() * sizeof(TimelineEvent),
                        cudaMemcpyDeviceToHost),
             "reading the step timeline");
  timeline_->add_step(events.data(), events.size(), bucket);
}

void GpuEngine::read_results(const std::vector<uint32_t>& sampled, uint32_t S, lmrt_token_logprobs* outputs) {
  for (uint32_t i = 0; i < S; ++i) outputs[i].token = -1, outputs[i].logprob = 0.f, outputs[i].num_top = 0;
  const SampleResult* res = reinterpret_cast<const SampleResult*>(h_results_.get());
  for (size_t k = 0; k < sampled.size(); ++k) copy_result(res[k], outputs[sampled[k]]);
}

void GpuEngine::copy_result(const SampleResult& r, lmrt_token_logprobs& o) const {
  if (r.token < 0 || static_cast<uint32_t>(r.token) >= model_->shape.vocab_size)
    throw Error(LMRT_STATUS_INTERNAL, "turbomind-cuda-fp16: the sampler returned token " + std::to_string(r.token));
  o.token = r.token;
  o.logprob = r.logprob;
  o.num_top = static_cast<uint32_t>(r.num_top);
  for (int j = 0; j < r.num_top; ++j) o.top_tokens[j] = r.top_tokens[j], o.top_logprobs[j] = r.top_logprobs[j];
}

// Field by field: the caller's struct_size stays its own.
void GpuEngine::copy_output(const lmrt_token_logprobs& from, lmrt_token_logprobs& to) {
  to.token = from.token;
  to.logprob = from.logprob;
  to.num_top = from.num_top;
  std::copy(from.top_tokens, from.top_tokens + from.num_top, to.top_tokens);
  std::copy(from.top_logprobs, from.top_logprobs + from.num_top, to.top_logprobs);
}

// The next step as the core expects it (LMRT_STEP_NEXT_IS_DECODE): every sequence of this step, one position on,
// laid out for its bucket's graph but for the tokens, which launch_guess() fills in. Only when all of them can be
// guessed (a guess of some would leave the others to a second pass over the weights) and the bucket's graph is
// already captured; false otherwise.
bool GpuEngine::prepare_guess(const lmrt_step_batch& batch) {
  const uint32_t S = batch.num_seqs;
  if (graph_table_cap_ == 0 || S > DecodeGraphs::kMaxBatch) return false;
  const uint32_t max_len = query_ ? query_->max_session_len : 0;
  for (uint32_t i = 0; i < S; ++i)
    if (!DecodeGuess::guessable(batch.seqs[i], block_seq_len_, graph_table_cap_, max_len)) return false;
  if (!graphs_.find(DecodeGraphs::bucket(S), buffer_epoch_)) return false;
  next_guess_.clear();
  std::vector<int32_t> tokens(S, 0), token_pos, tables, table_offset;
  std::vector<double> seq_base;
  std::vector<SampleRow> rows;
  for (uint32_t i = 0; i < S; ++i) {
    GuessedSeq g = DecodeGuess::next_of(batch.seqs[i], block_seq_len_);
    token_pos.push_back(static_cast<int32_t>(g.pos));
    table_offset.push_back(static_cast<int32_t>(tables.size()));
    tables.insert(tables.end(), g.table.begin(), g.table.end());
    seq_base.push_back(rope_base(model_->shape, uint64_t(g.pos) + 1));
    rows.push_back(g.row);
    next_guess_.push_back(std::move(g));
  }
  // Not the buffer the guess in flight was uploaded from, nor h_graph_meta_, which the next step lays itself out in.
  fill_graph_meta(h_guess_meta_[guess_buffer_].get(), tokens, token_pos, tables, table_offset, seq_base, rows);
  return true;
}

// Feeds the prepared guess this step's tokens and replays its graph, its results read into the other host buffer;
// with `outputs` null, the graph's embedding takes them from the samples of the step before it on the device, and
// the caller fills in next_guess_'s tokens and starts it once it has them. False when the graph went stale.
bool GpuEngine::launch_guess(const lmrt_token_logprobs* outputs) {
  const uint32_t S = static_cast<uint32_t>(next_guess_.size());
  cudaGraphExec_t exec = graphs_.find(DecodeGraphs::bucket(S), buffer_epoch_);
  if (!exec) return false;  // this step reallocated a buffer the graphs point into
  const MetaLayout g = graph_meta_layout(DecodeGraphs::bucket(S), graph_table_cap_);
  const int b = guess_buffer_;
  char* h = h_guess_meta_[b].get();
  if (outputs) {
    int32_t* tokens = reinterpret_cast<int32_t*>(h + g.tokens);
    for (uint32_t i = 0; i < S; ++i) {
      if (outputs[i].token < 0) return false;
      next_guess_[i].token = tokens[i] = outputs[i].token;
    }
  } else {
    *reinterpret_cast<int32_t*>(h + g.fed_rows) = static_cast<int32_t>(S);
  }
  check_cuda(cudaMemcpyAsync(d_graph_meta_.get(), h, g.bytes, cudaMemcpyHostToDevice, stream_),
             "uploading the step guessed ahead");
  check_cuda(cudaGraphLaunch(exec, stream_), "launching the step guessed ahead");
  check_cuda(cudaMemcpyAsync(h_guess_results_[b].get(), d_results_.get(), S * sizeof(SampleResult),
                             cudaMemcpyDeviceToHost, stream_),
             "reading the tokens of the step guessed ahead");
  check_cuda(cudaEventRecord(guess_done_[b], stream_), "marking the step guessed ahead");
  guess_results_at_ = b;
  guess_buffer_ ^= 1;
  ++lookahead_.launches, lookahead_.fed += outputs == nullptr;
  if (outputs) start_guess();
  return true;
}

void GpuEngine::start_guess() {
  guess_.start(std::move(next_guess_));
  next_guess_.clear();
}

void GpuEngine::forward(int T, int R, const AttentionPlan& attention, bool rows_are_tokens) {
  const ModelShape& s = model_->shape;
  const DType dt = model_->dtype;
  const int H = static_cast<int>(s.hidden_size), I = static_cast<int>(s.intermediate_size);
  const int QKV = static_cast<int>(s.qkv_rows()), Q = static_cast<int>(s.q_rows());
  const TokenLayout tl{sp_.token_pos, sp_.token_seq, sp_.table_offset, sp_.block_tables};
  const KvLayout kv{kv_.get(), static_cast<int>(s.num_layers), static_cast<int>(s.num_kv_heads),
                    static_cast<int>(s.head_dim), static_cast<int>(block_seq_len_)};
  const double linear = s.rope_scaling_type == LMRT_ROPE_SCALING_LINEAR ? s.rope_scaling_factor : 1.0;
  const GemmContext gc{cublas_, stream_, gemv_enabled_ ? gemv_rows_ : 0, gemv_tiles_taken()};
  StepProfile& prof = *profile_;

  launch_embedding(dt, model_->tok_embeddings, sp_.tokens, sp_.fed_rows, d_results_.as<const SampleResult>(), T,
                   static_cast<int>(s.vocab_size), H, ws_.x, stream_);
  launch_rope_table(sp_.token_pos, sp_.token_seq, sp_.seq_base, T, static_cast<int>(s.head_dim), linear, ws_.rope_cos,
                    ws_.rope_sin, stream_);
  prof.mark(stream_, "embedding, rope table");
  // Steps of up to gemv_chain_rows_ tokens (one by default) take the decode chain: the norms and SiLU formed inside
  // the GEMMs that read them, the residual adds inside the GEMMs that feed them.
  const bool chain = gemv_enabled_ && T <= gemv_chain_rows_;
  const bool rope_in_qkv = chain && gemv_rope_;  // the chain's QKV GEMM applies RoPE and writes K/V itself
  // With tensor parallelism the wo and w2 products are partial sums (over a rank's heads and MLP columns), kept in
  // fp32 for the all-reduce, which writes their rounded sum to ws_.tmp (or, in the chain, adds it to ws_.x).
  const bool tp = rank_.comm != nullptr;
  void* const product = tp ? static_cast<void*>(ws_.partial) : ws_.tmp;
  auto all_reduce = [&](void* out, bool add_to_residual) {
    rank_.comm->all_reduce_sum(rank_.rank, ws_.partial, out, size_t(T) * H, dt, add_to_residual, stream_);
    prof.mark(stream_, add_to_residual ? "all-reduce + add" : "all-reduce");
  };
  for (uint32_t l = 0; l < s.num_layers; ++l) {
    const LayerWeights& L = model_->layers[l];
    if (chain) {
      GemvArgs rope;
      rope.bias = L.bqkv, rope.rope_cos = ws_.rope_cos, rope.rope_sin = ws_.rope_sin;
      rope.num_heads = static_cast<int>(s.num_heads), rope.layer = static_cast<int>(l), rope.tokens = tl, rope.kv = kv;
      decode_gemv(L.wqkv, GemvInput::kRmsNorm, ws_.x, L.attention_norm,
                  rope_in_qkv ? GemvOutput::kRopeKv : GemvOutput::kStore, ws_.qkv, T, QKV, H, TimelineKind::kQkv, l,
                  rope_in_qkv ? &rope : nullptr, next_gemv_prefetch(L.wo, H, Q, l2_prefetch_tail_));
      // The profile says where the norm held its residual in registers (LMRT_TM_GEMV_NORM_REGISTERS), on the QKV
      // GEMM: the FFN and final norms take the same path.
      const bool regs = prof.enabled() && gemv_norm_in_registers(gemv_norm_registers_, T, H);
      if (rope_in_qkv)
        prof.mark(stream_, regs ? "rms norm in registers + gemm wqkv + rope + KV write"
                                : "rms norm + gemm wqkv + rope + KV write");
      else
        prof.mark(stream_, regs ? "rms norm in registers + gemm wqkv" : "rms norm + gemm wqkv");
    } else {
      // x += previous layer's FFN output (none before layer 0), then the attention norm.
      launch_add_rms_norm(dt, ws_.x, l == 0 ? nullptr : ws_.tmp, L.attention_norm, nullptr, T, H, s.rms_norm_eps,
                          ws_.xn, stream_);
      prof.mark(stream_, "add + rms norm");
      gemm(gc, dt, ws_.xn, L.wqkv, ws_.qkv, T, QKV, H);
      prof.mark(stream_, "gemm wqkv");
    }
    if (!rope_in_qkv) {
      launch_rope_kv_write(dt, ws_.qkv, L.bqkv, ws_.rope_cos, ws_.rope_sin, T, static_cast<int>(s.num_heads), tl, kv,
                           static_cast<int>(l), stream_);
      prof.mark(stream_, "rope + KV write");
    }
    if (tensor_cores_) {
      AttentionPrefetch ahead;
      if (chain && l2_prefetch_mb_ > 0) {
        // The output GEMM's weights, then the gate/up GEMM's first rounds, up to the budget.
        const double budget = double(l2_prefetch_mb_) * (1 << 20), wo = double(H) * Q * 2, w13 = 2.0 * I * H * 2;
        ahead.part[0] = gemv_l2_prefetch(L.wo, H, Q, budget / wo);
        if (budget > wo) ahead.part[1] = gemv_l2_prefetch(L.w13, 2 * I, H, (budget - wo) / w13);
        ahead.max_keys = kL2PrefetchMaxKeys;
      }
      launch_tensor_core_attention(dt, ws_.qkv, attention.num_items, static_cast<int>(s.num_heads), tl, sp_.group_first,
                                   sp_.attention_work, kv, static_cast<int>(l), attention_chunk_, attention.partials,
                                   ws_.split_counters, ws_.attn, stream_, ahead);
    } else {
      launch_attention(dt, ws_.qkv, attention.num_items, attention.max_group, static_cast<int>(s.num_heads), tl,
                       sp_.group_first, sp_.attention_work, sp_.attention_splits, attention.num_splits, kv,
                       static_cast<int>(l), attention_chunk_, attention.partials, ws_.attn, stream_);
    }
    prof.mark(stream_, "attention");
    if (chain) {
      // With tensor parallelism the all-reduce does the residual add, as the GEMM would have.
      const GemvOutput add = tp ? GemvOutput::kStoreF32 : GemvOutput::kAddResidual;
      void* const added = tp ? static_cast<void*>(ws_.partial) : ws_.x;
      decode_gemv(L.wo, GemvInput::kPlain, ws_.attn, nullptr, add, added, T, H, Q, TimelineKind::kOutput, l, nullptr,
                  next_gemv_prefetch(L.w13, 2 * I, H, l2_prefetch_tail_));
      // The down GEMM's blocks ask for the next layer's QKV weights (none after the last layer).
      const L2Prefetch after_down = l + 1 < s.num_layers
                                        ? next_gemv_prefetch(model_->layers[l + 1].wqkv, QKV, H, l2_prefetch_tail_)
                                        : L2Prefetch{};
      // The profile names the GEMMs that staged their X (LMRT_TM_GEMV_STAGE_X).
      const bool wo_staged = prof.enabled() && gemv_stages_plain_x(gemv_stage_x_, T, H, Q);
      prof.mark(stream_, wo_staged ? "gemm wo (x staged) + add" : "gemm wo + add");
      if (tp) all_reduce(ws_.x, true);
      // The gate/up GEMM's warps hold a gate row and its up row and store SiLU-and-multiply, so the down GEMM
      // reads X plainly instead of every block forming it first (LMRT_TM_GEMV_SILU=0: the down GEMM forms it).
      if (gemv_silu_) {
        decode_gemv(L.w13, GemvInput::kRmsNorm, ws_.x, L.ffn_norm, GemvOutput::kSiluMulStore, ws_.act, T, 2 * I, H,
                    TimelineKind::kGateUp, l, nullptr, next_gemv_prefetch(L.w2, H, I, l2_prefetch_tail_));
        prof.mark(stream_, "rms norm + gemm w1|w3 + silu * mul");
        decode_gemv(L.w2, GemvInput::kPlain, ws_.act, nullptr, add, added, T, H, I, TimelineKind::kDown, l, nullptr,
                    after_down);
        const bool w2_staged = prof.enabled() && gemv_stages_plain_x(gemv_stage_x_, T, H, I);
        prof.mark(stream_, w2_staged ? "gemm w2 (x staged) + add" : "gemm w2 + add");
      } else {
        decode_gemv(L.w13, GemvInput::kRmsNorm, ws_.x, L.ffn_norm, GemvOutput::kStore, ws_.gate_up, T, 2 * I, H,
                    TimelineKind::kGateUp, l, nullptr, next_gemv_prefetch(L.w2, H, I, l2_prefetch_tail_));
        prof.mark(stream_, "rms norm + gemm w1|w3");
        decode_gemv(L.w2, GemvInput::kSiluMul, ws_.gate_up, nullptr, add, added, T, H, I, TimelineKind::kDown, l,
                    nullptr, after_down);
        prof.mark(stream_, "silu * mul + gemm w2 + add");
      }
      if (tp) all_reduce(ws_.x, true);
      continue;
    }
    gemm(gc, dt, ws_.attn, L.wo, product, T, H, Q, tp);
    prof.mark(stream_, "gemm wo");
    if (tp) all_reduce(ws_.tmp, false);
    launch_add_rms_norm(dt, ws_.x, ws_.tmp, L.ffn_norm, nullptr, T, H, s.rms_norm_eps, ws_.xn, stream_);
    prof.mark(stream_, "add + rms norm");
    gemm(gc, dt, ws_.xn, L.w13, ws_.gate_up, T, 2 * I, H);
    prof.mark(stream_, "gemm w1|w3");
    launch_silu_mul(dt, ws_.gate_up, T, I, ws_.act, stream_);
    prof.mark(stream_, "silu * mul");
    gemm(gc, dt, ws_.act, L.w2, product, T, H, I, tp);
    prof.mark(stream_, "gemm w2");
    if (tp) all_reduce(ws_.tmp, false);
  }
  check_cuda(cudaGetLastError(), "launching the layers");
  if (R == 0) return;
  const int V = static_cast<int>(s.vocab_size);
  // The profile says which schedule the skinny GEMM's LM head took (LMRT_TM_GEMV_DYNAMIC).
  const bool lm_head_takes =
      prof.enabled() && R <= gc.gemv_rows && gc.gemv_tiles_taken && gemv_takes_tiles(V, H);
  if (chain && rows_are_tokens && gemv_head_norm_) {
    // As the layers' GEMMs do, the chain's LM head forms the final norm of its rows itself: a kernel and its
    // boundary fewer a step.
    decode_gemv(model_->output, GemvInput::kRmsNorm, ws_.x, model_->norm, GemvOutput::kStoreF32, ws_.logits, R, V, H,
                TimelineKind::kOther, 0);
    prof.mark(stream_, lm_head_takes ? "final norm + LM head (tiles taken)" : "final norm + LM head");
    check_cuda(cudaGetLastError(), "launching the LM head");
    return;
  }
  // Only the last token of each sampling sequence needs the final norm and the LM head.
  launch_add_rms_norm(dt, ws_.x, chain ? nullptr : ws_.tmp, model_->norm, sp_.last_rows, R, H, s.rms_norm_eps,
                      ws_.x_last, stream_);
  prof.mark(stream_, "final norm");
  gemm(gc, dt, ws_.x_last, model_->output, ws_.logits, R, V, H, /*y_fp32=*/true);
  prof.mark(stream_, lm_head_takes ? "LM head (tiles taken)" : "LM head");
  check_cuda(cudaGetLastError(), "launching the LM head");
}

// One GEMM of the decode chain (its shapes were checked against the kernel's limits at load: gemv_chain_rows_).
void GpuEngine::decode_gemv(const void* w, GemvInput input, const void* x, const void* norm_weight, GemvOutput output,
                            void* y, int m, int n, int k, TimelineKind kind, uint32_t layer, const GemvArgs* rope,
                            const L2Prefetch& after) {
  GemvArgs a = rope ? *rope : GemvArgs{};
  a.prefetch_after = after;
  a.input = input, a.output = output, a.y = y, a.m = m, a.n = n, a.k = k;
  a.layer = static_cast<int>(layer), a.timeline_kind = static_cast<uint32_t>(kind);
  a.tiles_taken = gemv_tiles_taken();
  a.early_loads = gemv_early_;
  a.norm_in_registers = gemv_norm_registers_;
  a.stage_plain_x = gemv_stage_x_;
  if (input == GemvInput::kRmsNorm)
    a.residual = static_cast<const float*>(x), a.norm_weight = norm_weight, a.eps = model_->shape.rms_norm_eps;
  else
    a.x = x;
  if (!launch_gemv(model_->dtype, w, a, stream_))
    throw Error(LMRT_STATUS_INTERNAL, "turbomind-cuda-fp16: the skinny GEMM refused a " + std::to_string(m) + "x" +
                                          std::to_string(n) + "x" + std::to_string(k) + " product");
}

L2Prefetch GpuEngine::next_gemv_prefetch(const void* w, int n, int k, int percent) const {
  return percent > 0 ? gemv_l2_prefetch(w, n, k, percent / 100.0) : L2Prefetch{};
}

}  // namespace lmrt::tm
