#include "engine_harness.hpp"

#include <dlfcn.h>

#include <cstdio>

namespace cpu_test {
namespace {

// The host's status objects, private to this test host.
struct TestStatus {
  lmrt_status_code code;
  std::string message;
};

lmrt_status* status_create(lmrt_status_code code, lmrt_str message) {
  if (code == LMRT_STATUS_OK) return nullptr;
  return reinterpret_cast<lmrt_status*>(new TestStatus{code, std::string(message.data, message.size)});
}
lmrt_status_code status_code(const lmrt_status* s) {
  return s ? reinterpret_cast<const TestStatus*>(s)->code : LMRT_STATUS_OK;
}
const char* status_message(const lmrt_status* s) { return s ? reinterpret_cast<const TestStatus*>(s)->message.c_str() : ""; }
void status_release(lmrt_status* s) { delete reinterpret_cast<TestStatus*>(s); }
void log(void*, lmrt_log_level level, const char* source, lmrt_str message) {
  if (level >= LMRT_LOG_WARN) std::fprintf(stderr, "[%s] %.*s\n", source, static_cast<int>(message.size), message.data);
}
lmrt_log_level log_level(void*) { return LMRT_LOG_INFO; }
lmrt_status* config_section(void*, const char*, lmrt_str_sink sink, void* user) {
  sink(user, lmrt_str{"", 0});
  return nullptr;
}
lmrt_status* find_plugin(void*, const char* name, lmrt_plugin_kind, const lmrt_plugin_descriptor**) {
  const std::string message = std::string("test host: no plugin '") + name + "'";
  return status_create(LMRT_STATUS_NOT_FOUND, lmrt_str{message.data(), message.size()});
}

LoadedPlugin load() {
  LoadedPlugin p;
  const std::string path = std::string(LMRT_PLUGIN_BUILD_DIR) + "/liblmrt-cpu.so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // never closed: engines may outlive a test
  if (!handle) {
    p.error = std::string("cannot dlopen ") + path + ": " + dlerror();
    return p;
  }
  p.init = reinterpret_cast<lmrt_plugin_init_fn>(dlsym(handle, LMRT_PLUGIN_ENTRY_NAME));
  if (!p.init) {
    p.error = path + " does not export " LMRT_PLUGIN_ENTRY_NAME;
    return p;
  }
  p.descriptor.struct_size = sizeof(lmrt_plugin_descriptor);
  Result r = take(p.init(test_host(), LMRT_ABI_VERSION, &p.descriptor));
  if (!r.ok()) {
    p.error = "lmrt_plugin_init failed: " + r.message;
    return p;
  }
  p.api = static_cast<const lmrt_engine_api*>(p.descriptor.api);
  return p;
}

}  // namespace

Result take(lmrt_status* status) {
  Result r;
  if (status) {
    r.code = status_code(status);
    r.message = status_message(status);
    status_release(status);
  }
  return r;
}

const lmrt_host_api* test_host() {
  static const lmrt_host_api host = [] {
    lmrt_host_api h{};
    h.struct_size = sizeof(lmrt_host_api);
    h.abi_version = LMRT_ABI_VERSION;
    h.host_context = nullptr;
    h.status_create = status_create;
    h.status_code = status_code;
    h.status_message = status_message;
    h.status_release = status_release;
    h.log = log;
    h.log_level = log_level;
    h.config_section = config_section;
    h.find_plugin = find_plugin;
    return h;
  }();
  return &host;
}

const LoadedPlugin& cpu_plugin() {
  static const LoadedPlugin plugin = load();
  return plugin;
}

Engine::~Engine() { cpu_plugin().api->destroy(engine_); }

std::unique_ptr<Engine> Engine::create(const lmrt_model_desc& model, const std::string& config_yaml, Result* result) {
  lmrt_engine_create_params params{};
  params.struct_size = sizeof params;
  params.config_yaml = lmrt_str{config_yaml.data(), config_yaml.size()};
  params.model = &model;
  lmrt_engine* engine = nullptr;
  Result r = take(cpu_plugin().api->create(test_host(), &params, &engine));
  if (result) *result = r;
  if (!r.ok()) return nullptr;
  return std::unique_ptr<Engine>(new Engine(engine));
}

Result Engine::capacity(const lmrt_capacity_query& query, lmrt_capacity* out) {
  out->struct_size = sizeof(lmrt_capacity);
  return take(cpu_plugin().api->capacity(engine_, &query, out));
}

Result Engine::allocate(uint32_t num_blocks, uint32_t block_seq_len) {
  lmrt_cache_config config{sizeof(lmrt_cache_config), num_blocks, block_seq_len};
  return take(cpu_plugin().api->allocate_cache(engine_, &config));
}

Result Engine::step(const std::vector<lmrt_step_seq>& seqs, std::vector<lmrt_token_logprobs>* outputs) {
  outputs->assign(seqs.size(), lmrt_token_logprobs{});
  for (auto& o : *outputs) o.struct_size = sizeof(lmrt_token_logprobs);
  lmrt_step_batch batch{sizeof(lmrt_step_batch), static_cast<uint32_t>(seqs.size()), seqs.data()};
  return take(cpu_plugin().api->step(engine_, &batch, outputs->data()));
}

lmrt_sampling_params greedy_params(uint32_t top_logprobs) {
  lmrt_sampling_params p{};
  p.struct_size = sizeof p;
  p.temperature = 0.f;
  p.top_p = 1.f;
  p.repetition_penalty = 1.f;
  p.top_logprobs = top_logprobs;
  return p;
}

lmrt_sampling_params random_params(uint64_t seed, float temperature) {
  lmrt_sampling_params p = greedy_params();
  p.temperature = temperature;
  p.seed = seed;
  return p;
}

lmrt_step_seq make_seq(uint64_t seq_id, const int32_t* tokens, uint32_t num_tokens, uint32_t start_pos,
                       const std::vector<int32_t>& block_table, const lmrt_sampling_params* sampling) {
  lmrt_step_seq s{};
  s.struct_size = sizeof s;
  s.num_tokens = num_tokens;
  s.seq_id = seq_id;
  s.tokens = tokens;
  s.start_pos = start_pos;
  s.num_blocks = static_cast<uint32_t>(block_table.size());
  s.block_table = block_table.data();
  s.sampling = sampling;
  return s;
}

lmrt_capacity_query capacity_query(uint32_t block_seq_len, float fraction) {
  lmrt_capacity_query q{};
  q.struct_size = sizeof q;
  q.block_seq_len = block_seq_len;
  q.cache_max_entry_count = fraction;
  q.max_batch_size = 8;
  q.max_step_tokens = 256;
  q.max_session_len = 512;
  return q;
}

}  // namespace cpu_test
