#include "lmrt/core/runtime.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "lmrt/core/log.hpp"
#include "lmrt/core/status.hpp"
#include "runtime_impl.hpp"

namespace lmrt {
namespace {

std::string engine_probe_yaml(const Deployment& d) {
  YAML::Node node = YAML::Load(d.section_yaml("engine"));
  if (!node.IsMap()) node = YAML::Node(YAML::NodeType::Map);
  auto model = d.model();
  node["model"]["format"] = model.format;
  node["model"]["dtype"] = d.engine().dtype;
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

void check_generation(const GenerationParams& g) {
  auto bad = [](const std::string& field, const std::string& why) {
    fail(LMRT_STATUS_INVALID_ARGUMENT, "invalid generation setting " + field + ": " + why);
  };
  if (!std::isfinite(g.temperature) || g.temperature < 0) bad("temperature", "must be >= 0");
  if (!std::isfinite(g.top_p) || g.top_p <= 0 || g.top_p > 1) bad("top_p", "must be in (0, 1]");
  if (g.top_k < 0) bad("top_k", "must be >= 0");
  if (!std::isfinite(g.min_p) || g.min_p < 0 || g.min_p > 1) bad("min_p", "must be in [0, 1]");
  if (!std::isfinite(g.repetition_penalty) || g.repetition_penalty <= 0) bad("repetition_penalty", "must be > 0");
  if (!std::isfinite(g.presence_penalty) || std::fabs(g.presence_penalty) > 2)
    bad("presence_penalty", "must be in [-2, 2]");
  if (!std::isfinite(g.frequency_penalty) || std::fabs(g.frequency_penalty) > 2)
    bad("frequency_penalty", "must be in [-2, 2]");
  if (g.top_logprobs > LMRT_MAX_TOP_LOGPROBS)
    bad("top_logprobs", "must be at most " + std::to_string(LMRT_MAX_TOP_LOGPROBS));
  for (const auto& w : g.stop_words)
    if (w.empty()) bad("stop_words", "empty stop word");
}

}  // namespace

Runtime::Runtime(const Deployment& deployment, std::shared_ptr<PluginRegistry> registry)
    : impl_(std::make_unique<Impl>(deployment)) {
  Impl& m = *impl_;
  m.started = Clock::now();
  auto plugins = deployment.plugins();
  m.registry = registry ? std::move(registry) : std::make_shared<PluginRegistry>(plugins.search_paths);
  m.registry->set_config_provider([d = deployment](const std::string& path) -> std::optional<std::string> {
    return d.section_yaml(path);
  });

  ModelConfig mc = deployment.model();
  EngineConfig ec = deployment.engine();
  std::filesystem::path model_dir = deployment.require_model_path();

  ModelLoadOptions load_options;
  load_options.rope_scaling_factor = static_cast<float>(mc.rope_scaling_factor);
  m.model = load_model(model_dir, load_options);
  m.tokenizer = Tokenizer::load(model_dir);
  std::string template_name = mc.chat_template == "auto" ? ChatTemplate::detect(model_dir) : mc.chat_template;
  m.chat_template = std::make_unique<ChatTemplate>(ChatTemplate::by_name(template_name));

  if (m.tokenizer->vocab_size() > static_cast<int32_t>(m.model.desc().vocab_size))
    log::write(LMRT_LOG_WARN, "runtime",
               "the tokenizer knows " + std::to_string(m.tokenizer->vocab_size()) + " ids but the model only " +
                   std::to_string(m.model.desc().vocab_size));

  // Stop ids: the model's and tokenizer's EOS, and template stop words that are one token.
  std::vector<int32_t> stops = m.model.eos_token_ids();
  for (int32_t id : m.tokenizer->eos_ids()) stops.push_back(id);
  for (const auto& w : m.chat_template->stop_words()) {
    if (auto id = m.tokenizer->token_to_id(w)) stops.push_back(*id);
    else m.template_stop_words.push_back(w);
  }
  std::sort(stops.begin(), stops.end());
  stops.erase(std::unique(stops.begin(), stops.end()), stops.end());
  m.model_stop_ids = stops;

  m.session_len = ec.session_len > 0 ? static_cast<uint32_t>(ec.session_len) : m.model.max_position_embeddings();
  m.max_batch_size = static_cast<uint32_t>(ec.max_batch_size);
  m.max_prefill_tokens = static_cast<uint32_t>(ec.max_prefill_token_num);
  m.block_seq_len = static_cast<uint32_t>(ec.cache_block_seq_len);

  const LoadedPlugin& plugin = m.registry->select_engine(ec.backend, engine_probe_yaml(deployment));
  log::write(LMRT_LOG_INFO, "runtime", "engine: " + plugin.name() + " (" + plugin.path.string() + ")");
  m.engine = std::make_unique<EngineHandle>(plugin, m.registry->host_api(), deployment.section_yaml("engine"),
                                            m.model.desc());

  lmrt_capacity_query q{};
  q.struct_size = sizeof(q);
  q.block_seq_len = m.block_seq_len;
  q.cache_max_entry_count = static_cast<float>(ec.cache_max_entry_count);
  q.max_batch_size = m.max_batch_size;
  q.max_step_tokens = m.max_prefill_tokens + m.max_batch_size;
  q.max_session_len = m.session_len;
  m.capacity = m.engine->capacity(q);
  if (ec.max_kv_blocks > 0 && m.capacity.num_blocks > ec.max_kv_blocks)
    m.capacity.num_blocks = static_cast<uint32_t>(ec.max_kv_blocks);
  if (m.capacity.num_blocks == 0)
    fail(LMRT_STATUS_OUT_OF_MEMORY, "no KV block fits: " + std::to_string(m.capacity.free_bytes >> 20) +
                                        " MiB free after the weights, " + std::to_string(m.capacity.block_bytes) +
                                        " bytes per block of " + std::to_string(m.block_seq_len) +
                                        " tokens (cache_max_entry_count " + std::to_string(ec.cache_max_entry_count) + ")");
  uint32_t per_session = (m.session_len + m.block_seq_len - 1) / m.block_seq_len;
  if (m.capacity.num_blocks < per_session)
    log::write(LMRT_LOG_WARN, "runtime",
               "the KV pool (" + std::to_string(m.capacity.num_blocks) + " blocks) is smaller than one full session (" +
                   std::to_string(per_session) + " blocks for session_len " + std::to_string(m.session_len) + ")");
  m.engine->allocate_cache(m.capacity.num_blocks, m.block_seq_len);
  BlockManagerOptions bo;
  bo.num_blocks = m.capacity.num_blocks;
  bo.block_seq_len = m.block_seq_len;
  bo.prefix_caching = ec.enable_prefix_caching;
  m.blocks = std::make_unique<BlockManager>(bo);
  log::write(LMRT_LOG_INFO, "runtime",
             "model " + m.model.name() + " (" + m.model.architecture() + "), session_len " +
                 std::to_string(m.session_len) + ", KV pool " + std::to_string(m.capacity.num_blocks) + " blocks x " +
                 std::to_string(m.block_seq_len) + " tokens on " + m.capacity.device + ", chat template " +
                 m.chat_template->name());
  m.publish_counters();
  m.thread = std::thread([&m] { m.run(); });
}

Runtime::~Runtime() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->engine.reset();  // before the registry can unload the plugin
}

GenerationParams Runtime::default_generation() const {
  GenerationDefaults d = impl_->deployment.generation();
  GenerationParams g;
  g.max_new_tokens = static_cast<uint32_t>(d.max_new_tokens);
  g.min_new_tokens = static_cast<uint32_t>(d.min_new_tokens);
  g.temperature = static_cast<float>(d.temperature);
  g.top_p = static_cast<float>(d.top_p);
  g.top_k = static_cast<int32_t>(d.top_k);
  g.min_p = static_cast<float>(d.min_p);
  g.repetition_penalty = static_cast<float>(d.repetition_penalty);
  g.seed = d.seed;
  g.ignore_eos = d.ignore_eos;
  g.skip_special_tokens = d.skip_special_tokens;
  g.stop_words = d.stop_words;
  return g;
}

uint64_t Runtime::submit(const RequestInput& input, const GenerationParams& gen, EventCallback callback,
                         uint64_t session_id, bool end_session) {
  Impl& m = *impl_;
  check_generation(gen);
  if (!callback) fail(LMRT_STATUS_INVALID_ARGUMENT, "submit: no event callback");
  auto r = std::make_unique<Request>();
  r->gen = gen;
  r->session_id = session_id;
  r->end_session = end_session;
  r->callback = std::move(callback);
  r->submitted = Clock::now();
  bool continuing = false;  // a later turn of an interactive session: no BOS
  if (session_id != 0) {
    std::lock_guard lock(m.mutex);
    continuing = m.known_sessions.count(session_id) > 0;
  }
  switch (input.kind) {
    case LMRT_INPUT_TEXT:
      if (input.text.empty()) fail(LMRT_STATUS_INVALID_ARGUMENT, "the prompt is empty");
      r->tokens = m.tokenizer->encode(input.text, /*add_special_tokens=*/!continuing);
      break;
    case LMRT_INPUT_MESSAGES: {
      if (input.messages.empty()) fail(LMRT_STATUS_INVALID_ARGUMENT, "no messages");
      r->tokens = m.tokenizer->encode(apply_chat_template(input.messages),
                                      m.chat_template->encode_with_special_tokens() && !continuing);
      break;
    }
    case LMRT_INPUT_TOKENS:
      if (input.tokens.empty()) fail(LMRT_STATUS_INVALID_ARGUMENT, "no input tokens");
      for (int32_t t : input.tokens)
        if (t < 0 || static_cast<uint32_t>(t) >= m.model.desc().vocab_size)
          fail(LMRT_STATUS_INVALID_ARGUMENT, "input token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                                 std::to_string(m.model.desc().vocab_size) + ")");
      r->tokens = input.tokens;
      break;
    default: fail(LMRT_STATUS_INVALID_ARGUMENT, "unknown input kind " + std::to_string(input.kind));
  }
  if (r->tokens.empty()) fail(LMRT_STATUS_INVALID_ARGUMENT, "the input encodes to no tokens");
  r->input_tokens = static_cast<uint32_t>(r->tokens.size());
  if (r->tokens.size() >= m.session_len)
    fail(LMRT_STATUS_CAPACITY, "the prompt has " + std::to_string(r->tokens.size()) +
                                   " tokens, which does not fit session_len " + std::to_string(m.session_len) +
                                   " (the prompt plus at least one generated token); shorten it or raise --session-len");
  for (int32_t t : r->tokens)
    if (t < 0 || static_cast<uint32_t>(t) >= m.model.desc().vocab_size)
      fail(LMRT_STATUS_INVALID_ARGUMENT, "the tokenizer produced id " + std::to_string(t) +
                                             " outside the model's vocabulary of " +
                                             std::to_string(m.model.desc().vocab_size));
  if (r->gen.max_new_tokens == 0) r->gen.max_new_tokens = m.session_len;
  r->seed = gen.seed ? *gen.seed : std::random_device{}() * 0x100000001ull + std::random_device{}();

  // ignore_eos drops the model's EOS and the template's stops; the request's own stops still apply.
  if (!gen.ignore_eos) r->stop_ids = m.model_stop_ids;
  for (int32_t id : gen.stop_token_ids) r->stop_ids.push_back(id);
  std::sort(r->stop_ids.begin(), r->stop_ids.end());
  r->stop_ids.erase(std::unique(r->stop_ids.begin(), r->stop_ids.end()), r->stop_ids.end());
  r->banned_until_min = r->stop_ids;
  std::vector<std::string> words = gen.stop_words;
  if (!gen.ignore_eos) words.insert(words.end(), m.template_stop_words.begin(), m.template_stop_words.end());
  r->stops = std::make_unique<StopMatcher>(std::move(words));
  IncrementalDetokenizer::Options dopt;
  dopt.skip_special_tokens = gen.skip_special_tokens;
  dopt.at_start = false;
  r->detok = std::make_unique<IncrementalDetokenizer>(*m.tokenizer, dopt);

  uint64_t id;
  {
    std::lock_guard lock(m.mutex);
    if (m.stopping) fail(LMRT_STATUS_CANCELLED, "the runtime is shutting down");
    if (session_id != 0 && !m.busy_sessions.insert(session_id).second)
      fail(LMRT_STATUS_ALREADY_EXISTS, "session " + std::to_string(session_id) + " already has a request running");
    if (session_id != 0) {
      if (end_session) m.known_sessions.erase(session_id);
      else m.known_sessions.insert(session_id);
    }
    id = m.next_id++;
    r->id = id;
    m.inbox.push_back(std::move(r));
  }
  m.wake.notify_all();
  return id;
}

void Runtime::cancel(uint64_t request_id) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->cancels.push_back(request_id);
  }
  impl_->wake.notify_all();
}

void Runtime::end_session(uint64_t session_id) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->ended_sessions.push_back(session_id);
    impl_->known_sessions.erase(session_id);
  }
  impl_->wake.notify_all();
}

std::vector<int32_t> Runtime::encode(const std::string& text, bool add_special_tokens) const {
  return impl_->tokenizer->encode(text, add_special_tokens);
}

std::string Runtime::decode(const std::vector<int32_t>& tokens, bool skip_special_tokens) const {
  return impl_->tokenizer->decode(tokens, skip_special_tokens);
}

std::string Runtime::apply_chat_template(const std::vector<ChatTurn>& messages) const {
  std::vector<ChatMessage> msgs;
  msgs.reserve(messages.size());
  for (const auto& m : messages) msgs.push_back(ChatMessage{m.role, m.content});
  return impl_->chat_template->render(msgs, /*add_generation_prompt=*/true);
}

const Tokenizer& Runtime::tokenizer() const { return *impl_->tokenizer; }
const Deployment& Runtime::deployment() const { return impl_->deployment; }
std::shared_ptr<PluginRegistry> Runtime::registry() const { return impl_->registry; }

nlohmann::json Runtime::info() const {
  const Impl& m = *impl_;
  const auto& d = m.model.desc();
  ModelConfig mc = m.deployment.model();
  EngineConfig ec = m.deployment.engine();
  return {
      {"model_name", mc.name.empty() ? m.model.name() : mc.name},
      {"model_path", m.model.dir().string()},
      {"architecture", m.model.architecture()},
      {"hf_architecture", m.model.hf_architecture()},
      {"vocab_size", d.vocab_size},
      {"hidden_size", d.hidden_size},
      {"num_layers", d.num_layers},
      {"session_len", m.session_len},
      {"max_position_embeddings", m.model.max_position_embeddings()},
      {"chat_template", m.chat_template->name()},
      {"engine", m.engine->name()},
      {"device", m.capacity.device},
      {"dtype", ec.dtype},
      {"max_batch_size", m.max_batch_size},
      {"max_prefill_token_num", m.max_prefill_tokens},
      {"cache_block_seq_len", m.block_seq_len},
      {"kv_blocks", m.capacity.num_blocks},
      {"kv_block_bytes", m.capacity.block_bytes},
      {"weight_bytes", m.capacity.weight_bytes},
      {"enable_prefix_caching", ec.enable_prefix_caching},
      {"stop_token_ids", m.model_stop_ids},
      {"bos_token_id", m.tokenizer->bos_id() ? nlohmann::json(*m.tokenizer->bos_id()) : nlohmann::json()},
  };
}

nlohmann::json Runtime::stats() const {
  SchedulerCounters c;
  {
    std::lock_guard lock(impl_->mutex);
    c = impl_->counters;
  }
  double window = 10.0;
  uint64_t recent = 0;
  auto now = Clock::now();
  for (auto& [t, n] : c.recent_tokens)
    if (now - t <= std::chrono::seconds(10)) recent += n;
  double uptime = std::chrono::duration<double>(now - impl_->started).count();
  return {
      {"running", c.running},
      {"waiting", c.waiting},
      {"kv_blocks_total", c.blocks_total},
      {"kv_blocks_used", c.blocks_used},
      {"kv_blocks_free", c.blocks_free},
      {"kv_blocks_cached", c.blocks_cached},
      {"prefix_cache_queries", c.prefix.prefix_queries},
      {"prefix_cache_query_tokens", c.prefix.prefix_query_tokens},
      {"prefix_cache_hit_tokens", c.prefix.prefix_hit_tokens},
      {"prefix_cache_hit_rate", c.prefix.hit_rate()},
      {"prefix_cache_evictions", c.prefix.evictions},
      {"steps", c.steps},
      {"prompt_tokens", c.prompt_tokens},
      {"generated_tokens", c.generated_tokens},
      {"preemptions", c.preemptions},
      {"generation_tokens_per_second", recent / std::min(window, std::max(uptime, 1e-3))},
      {"requests_finished",
       {{"stop", c.finished_stop}, {"length", c.finished_length}, {"cancelled", c.finished_cancelled},
        {"error", c.finished_error}}},
      {"uptime_seconds", uptime},
  };
}

}  // namespace lmrt
