// Runtime internals shared by runtime.cpp (setup, API) and scheduler.cpp (the loop).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lmrt/core/block_manager.hpp"
#include "lmrt/core/chat_template.hpp"
#include "lmrt/core/engine_handle.hpp"
#include "lmrt/core/model_loader.hpp"
#include "lmrt/core/runtime.hpp"
#include "lmrt/core/tokenizer.hpp"
#include "request.hpp"

namespace lmrt {

// An interactive session between requests: its tokens and the KV it keeps.
struct Session {
  std::vector<int32_t> tokens;
  uint32_t num_computed = 0;
  SeqBlocks blocks;
  Clock::time_point last_used;
};

struct SchedulerCounters {
  uint64_t steps = 0;
  uint64_t prompt_tokens = 0;      // tokens computed by prefill chunks
  uint64_t generated_tokens = 0;
  uint64_t preemptions = 0;
  uint64_t finished_stop = 0, finished_length = 0, finished_cancelled = 0, finished_error = 0;
  uint64_t running = 0, waiting = 0;
  uint32_t blocks_total = 0, blocks_used = 0, blocks_free = 0, blocks_cached = 0;
  BlockManagerStats prefix;
  std::deque<std::pair<Clock::time_point, uint64_t>> recent_tokens;  // (bucket start, tokens): tokens/s over 10 s
};

struct Runtime::Impl {
  explicit Impl(const Deployment& d) : deployment(d) {}
  Deployment deployment;
  std::shared_ptr<PluginRegistry> registry;
  LoadedModel model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<ChatTemplate> chat_template;
  std::unique_ptr<EngineHandle> engine;
  std::unique_ptr<BlockManager> blocks;
  lmrt_capacity capacity{};

  uint32_t session_len = 0;
  uint32_t max_batch_size = 0;
  uint32_t max_prefill_tokens = 0;
  uint32_t block_seq_len = 0;
  std::vector<int32_t> model_stop_ids;  // EOS and the template's single-token stop words
  std::vector<std::string> template_stop_words;  // template stop words that are not single tokens
  Clock::time_point started;

  // ---- shared with submitting threads (guarded by mutex) ----
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<std::unique_ptr<Request>> inbox;
  std::vector<uint64_t> cancels;
  std::vector<uint64_t> ended_sessions;
  std::set<uint64_t> busy_sessions;   // sessions with a request queued or running
  std::set<uint64_t> known_sessions;  // sessions with history (their next text gets no BOS)
  bool stopping = false;
  uint64_t next_id = 1;
  SchedulerCounters counters;  // snapshot published by the scheduler

  // ---- scheduler thread only ----
  std::deque<std::unique_ptr<Request>> waiting;
  std::vector<std::unique_ptr<Request>> running;
  std::map<uint64_t, Session> sessions;
  SchedulerCounters local;
  std::thread thread;

  void run();                          // the scheduler loop
  bool take_inbox();                   // false when stopping
  void schedule_and_step();
  void finish(Request& r, lmrt_finish_reason reason, std::string message = {});
  void emit(Request& r, RuntimeEvent& ev);
  void preempt(std::unique_ptr<Request> victim);
  bool evict_idle_session();
  void publish_counters();
  void admit_session(Request& r);
  void handle_token(Request& r, const lmrt_token_logprobs& out);
  void fill_sampling(Request& r);
};

}  // namespace lmrt
