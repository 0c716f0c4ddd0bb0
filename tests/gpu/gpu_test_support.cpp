#include "gpu_test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <numeric>

namespace fs = std::filesystem;

namespace lmrt::gputest {

const std::string& gpu_unavailable_reason() {
  static const std::string reason = [] {
    try {
      PluginRegistry registry({LMRT_PLUGIN_BUILD_DIR}, false);
      const LoadedPlugin& p = registry.find(kGpu, LMRT_PLUGIN_ENGINE);
      PluginProbe probe = registry.probe(p, "");
      if (!probe.error.empty()) return probe.error;
      return probe.caps.score > 0 ? std::string() : std::string(probe.caps.reason);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  }();
  return reason;
}

fs::path testdata_dir() {
  if (const char* env = std::getenv("LMRT_TESTDATA_DIR"); env && *env) return env;
  return LMRT_TESTDATA_DIR;
}

fs::path fixtures_dir() { return fs::path(LMRT_SOURCE_DIR) / "tests" / "fixtures" / "models"; }

StepEngine::StepEngine(const std::string& backend, const fs::path& dir, const std::string& yaml, uint32_t num_blocks,
                       uint32_t block_seq_len)
    : registry_({LMRT_PLUGIN_BUILD_DIR}, false), model_(load_model(dir)) {
  const LoadedPlugin& plugin = registry_.find(backend, LMRT_PLUGIN_ENGINE);
  engine_ = std::make_unique<EngineHandle>(plugin, registry_.host_api(), yaml, model_.desc());
  lmrt_capacity_query q{sizeof(q), block_seq_len, 0.05f, 256, 4096, 4096};
  auto cap = engine_->capacity(q);
  EXPECT_GE(cap.num_blocks, num_blocks);
  engine_->allocate_cache(num_blocks, block_seq_len);
}

lmrt_status* StepEngine::step(const std::vector<lmrt_step_seq>& seqs, std::vector<lmrt_token_logprobs>& out,
                              uint32_t flags) {
  out.assign(seqs.size(), lmrt_token_logprobs{});
  for (auto& o : out) o.struct_size = sizeof(o);
  lmrt_step_batch b{sizeof(b), static_cast<uint32_t>(seqs.size()), seqs.data(), flags, 0};
  return engine_->step(b, out.data());
}

lmrt_sampling_params greedy_params() {
  lmrt_sampling_params sp{};
  sp.struct_size = sizeof(sp);
  sp.temperature = 0;
  sp.top_p = 1;
  sp.repetition_penalty = 1;
  sp.top_logprobs = LMRT_MAX_TOP_LOGPROBS;
  return sp;
}

lmrt_token_logprobs StepEngine::greedy(const std::vector<int32_t>& tokens, uint32_t start, uint64_t seq_id,
                                       int32_t first_block) {
  std::vector<int32_t> table(16);
  std::iota(table.begin(), table.end(), first_block);
  lmrt_sampling_params sp = greedy_params();
  lmrt_step_seq s{};
  s.struct_size = sizeof(s);
  s.seq_id = seq_id;
  s.tokens = tokens.data();
  s.num_tokens = static_cast<uint32_t>(tokens.size());
  s.start_pos = start;
  s.block_table = table.data();
  s.num_blocks = static_cast<uint32_t>(table.size());
  s.sampling = &sp;
  std::vector<lmrt_token_logprobs> out;
  lmrt_status* st = step({s}, out);
  EXPECT_EQ(st, nullptr) << (st ? host()->status_message(st) : "");
  if (st) host()->status_release(st);
  return out[0];
}

}  // namespace lmrt::gputest
