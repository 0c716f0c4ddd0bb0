// The scheduler loop: continuous batching over paged KV blocks.
//
// Every iteration: take new requests, cancellations and ended sessions; build one
// batch (every running sequence's next token, prefill chunks up to
// max_prefill_token_num tokens, new requests admitted while blocks last, up to
// max_batch_size sequences); run one engine step; stream what it produced and
// retire finished requests. When blocks run out the newest running request is
// preempted: its blocks are released and it is queued again for recomputation.
// docs/scheduling.md describes the policy.
#include <algorithm>

#include "lmrt/core/log.hpp"
#include "lmrt/core/status.hpp"
#include "runtime_impl.hpp"

namespace lmrt {
namespace {
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

void Runtime::Impl::run() {
  try {
    while (take_inbox()) schedule_and_step();
  } catch (const std::exception& e) {
    log::write(LMRT_LOG_CRITICAL, "scheduler", std::string("scheduler stopped: ") + e.what());
    std::lock_guard lock(mutex);
    stopping = true;
  }
  // Shut down: everything still queued or running is cancelled.
  for (auto& r : running) finish(*r, LMRT_FINISH_CANCELLED, "the runtime is shutting down");
  for (auto& r : waiting) finish(*r, LMRT_FINISH_CANCELLED, "the runtime is shutting down");
  {
    std::lock_guard lock(mutex);
    for (auto& r : inbox) finish(*r, LMRT_FINISH_CANCELLED, "the runtime is shutting down");
    inbox.clear();
  }
  running.clear();
  waiting.clear();
  for (auto& [id, s] : sessions) blocks->release(s.blocks);
  sessions.clear();
  publish_counters();
}

bool Runtime::Impl::take_inbox() {
  std::vector<std::unique_ptr<Request>> fresh;
  std::vector<uint64_t> cancel_ids, end_ids;
  {
    std::unique_lock lock(mutex);
    wake.wait(lock, [&] {
      return stopping || !inbox.empty() || !cancels.empty() || !ended_sessions.empty() || !running.empty() ||
             !waiting.empty();
    });
    if (stopping) return false;
    fresh.swap(inbox);
    cancel_ids.swap(cancels);
    end_ids.swap(ended_sessions);
  }
  for (auto& r : fresh) waiting.push_back(std::move(r));
  for (uint64_t id : cancel_ids) {
    auto match = [id](const std::unique_ptr<Request>& r) { return r->id == id; };
    if (auto it = std::find_if(running.begin(), running.end(), match); it != running.end()) {
      finish(**it, LMRT_FINISH_CANCELLED);
      running.erase(it);
    } else if (auto wt = std::find_if(waiting.begin(), waiting.end(), match); wt != waiting.end()) {
      finish(**wt, LMRT_FINISH_CANCELLED);
      waiting.erase(wt);
    }
  }
  for (uint64_t sid : end_ids) {
    if (auto it = sessions.find(sid); it != sessions.end()) {
      blocks->release(it->second.blocks);
      sessions.erase(it);
    }
  }
  // Submits and cancels show in the statistics before any token of theirs is streamed.
  if (!fresh.empty() || !cancel_ids.empty() || !end_ids.empty()) publish_counters();
  return true;
}

bool Runtime::Impl::evict_idle_session() {
  if (sessions.empty()) return false;
  auto oldest = sessions.begin();
  for (auto it = sessions.begin(); it != sessions.end(); ++it)
    if (!it->second.blocks.empty() && (oldest->second.blocks.empty() || it->second.last_used < oldest->second.last_used))
      oldest = it;
  if (oldest->second.blocks.empty()) return false;
  // Keep the history; its KV is recomputed (or found in the prefix cache) next turn.
  blocks->release(oldest->second.blocks);
  oldest->second.num_computed = 0;
  return true;
}

void Runtime::Impl::preempt(std::unique_ptr<Request> victim) {
  log::write(LMRT_LOG_DEBUG, "scheduler",
             "KV blocks exhausted: preempting request " + std::to_string(victim->id) + " for recomputation");
  blocks->release(victim->blocks);
  victim->num_computed = 0;
  ++local.preemptions;
  waiting.push_front(std::move(victim));
}

void Runtime::Impl::admit_session(Request& r) {
  // A continuing session brings its history and the KV it kept.
  auto it = sessions.find(r.session_id);
  if (it == sessions.end()) return;
  Session& s = it->second;
  std::vector<int32_t> tokens = std::move(s.tokens);
  tokens.insert(tokens.end(), r.tokens.begin(), r.tokens.end());
  r.tokens = std::move(tokens);
  r.blocks = std::move(s.blocks);
  r.num_computed = s.num_computed;
  s.blocks = SeqBlocks{};
  sessions.erase(it);
}

void Runtime::Impl::fill_sampling(Request& r) {
  auto& s = r.sampling;
  s = lmrt_sampling_params{};
  s.struct_size = sizeof(s);
  s.temperature = r.gen.temperature;
  s.top_k = r.gen.top_k;
  s.top_p = r.gen.top_p;
  s.min_p = r.gen.min_p;
  s.repetition_penalty = r.gen.repetition_penalty;
  s.presence_penalty = r.gen.presence_penalty;
  s.frequency_penalty = r.gen.frequency_penalty;
  s.seed = r.seed;
  s.top_logprobs = r.gen.logprobs ? r.gen.top_logprobs : 0;
  s.penalty_tokens = r.tokens.data();
  s.num_penalty_tokens = static_cast<uint32_t>(r.tokens.size());
  s.num_generated = r.num_generated;
  if (r.num_generated < r.gen.min_new_tokens && !r.banned_until_min.empty()) {
    s.banned_tokens = r.banned_until_min.data();
    s.num_banned_tokens = static_cast<uint32_t>(r.banned_until_min.size());
  }
}

void Runtime::Impl::schedule_and_step() {
  struct Slot {
    Request* r;
    uint32_t chunk;
  };
  std::vector<Slot> batch;
  uint32_t budget = max_prefill_tokens;

  // 1. Sequences already running: their next decode token or prefill chunk.
  for (size_t i = 0; i < running.size();) {
    Request& r = *running[i];
    uint32_t remaining = static_cast<uint32_t>(r.tokens.size()) - r.num_computed;
    uint32_t chunk = r.prefilling() ? std::min(remaining, budget) : 1;
    if (chunk == 0) {
      ++i;
      continue;
    }
    bool grown = blocks->grow(r.blocks, r.num_computed + chunk);
    while (!grown && (evict_idle_session() || running.size() > i + 1)) {
      if (running.size() > i + 1) {
        preempt(std::move(running.back()));
        running.pop_back();
      }
      grown = blocks->grow(r.blocks, r.num_computed + chunk);
    }
    if (!grown) {
      if (running.size() == 1 && batch.empty()) {
        // Alone and still out of blocks: the pool cannot hold this sequence.
        finish(r, LMRT_FINISH_LENGTH,
               "the KV cache is full: " + std::to_string(blocks->total()) + " blocks of " +
                   std::to_string(block_seq_len) + " tokens cannot hold " + std::to_string(r.num_computed + chunk) +
                   " positions (raise --cache-max-entry-count or lower --session-len)");
        running.erase(running.begin() + i);
        continue;
      }
      preempt(std::move(running[i]));
      running.erase(running.begin() + i);
      continue;
    }
    if (r.prefilling()) budget -= chunk;
    batch.push_back({&r, chunk});
    ++i;
  }

  // 2. Admit waiting requests, oldest first, while blocks and the token budget last.
  while (!waiting.empty() && running.size() < max_batch_size && budget > 0) {
    Request& r = *waiting.front();
    if (!r.admitted_once && r.session_id != 0) admit_session(r);
    if (!r.admitted_once) {
      r.input_end = static_cast<uint32_t>(r.tokens.size());
      uint32_t limit = std::min<uint32_t>(session_len, r.input_end + r.gen.max_new_tokens);
      r.max_total = limit;
      r.length_by_session = session_len < r.input_end + r.gen.max_new_tokens;
    }
    if (blocks->blocks_for(static_cast<uint32_t>(r.tokens.size()) + 1) > blocks->total()) {
      auto victim = std::move(waiting.front());
      waiting.pop_front();
      finish(*victim, LMRT_FINISH_ERROR,
             "the prompt needs " + std::to_string(blocks->blocks_for(victim->tokens.size() + 1)) +
                 " KV blocks but the pool has only " + std::to_string(blocks->total()));
      continue;
    }
    bool ok;
    uint32_t chunk;
    if (r.blocks.empty()) {
      uint32_t cached = blocks->match_prefix(r.tokens);
      chunk = std::min<uint32_t>(static_cast<uint32_t>(r.tokens.size()) - cached, budget);
      ok = blocks->allocate(r.blocks, r.tokens, cached + chunk);
      while (!ok && evict_idle_session()) ok = blocks->allocate(r.blocks, r.tokens, cached + chunk);
      if (ok) {
        r.num_computed = r.blocks.num_cached_tokens;
        if (!r.admitted_once) r.cached_tokens = r.num_computed;
      }
    } else {
      chunk = std::min<uint32_t>(static_cast<uint32_t>(r.tokens.size()) - r.num_computed, budget);
      ok = blocks->grow(r.blocks, r.num_computed + chunk);
      while (!ok && evict_idle_session()) ok = blocks->grow(r.blocks, r.num_computed + chunk);
      if (!r.admitted_once) r.cached_tokens = std::min(r.num_computed, r.input_end);
    }
    if (!ok) break;  // wait for blocks to free up (head of line keeps its place)
    r.admitted_once = true;
    if (!r.scheduled) {
      r.scheduled = true;
      r.first_scheduled = Clock::now();
    }
    budget -= chunk;
    running.push_back(std::move(waiting.front()));
    waiting.pop_front();
    batch.push_back({running.back().get(), chunk});
  }

  if (batch.empty()) {
    publish_counters();
    if (!waiting.empty() && running.empty()) {
      // Nothing runs and the head cannot be admitted: only idle sessions could be holding blocks.
      if (!evict_idle_session()) {
        auto victim = std::move(waiting.front());
        waiting.pop_front();
        finish(*victim, LMRT_FINISH_ERROR, "no KV blocks can be freed for this request");
      }
    }
    return;
  }

  // 3. One engine step.
  std::vector<lmrt_step_seq> seqs(batch.size());
  std::vector<lmrt_token_logprobs> outputs(batch.size());
  // LMRT_STEP_NEXT_IS_DECODE (engine.h): with nobody waiting, the next step is these sequences again, one token each,
  // unless one stops on a token or word; the engine may start on it early.
  bool next_is_decode = waiting.empty();
  for (size_t i = 0; i < batch.size(); ++i) {
    Request& r = *batch[i].r;
    lmrt_step_seq& s = seqs[i];
    s.struct_size = sizeof(s);
    s.seq_id = r.id;
    s.tokens = r.tokens.data() + r.num_computed;
    s.num_tokens = batch[i].chunk;
    s.start_pos = r.num_computed;
    s.block_table = r.blocks.table.data();
    s.num_blocks = static_cast<uint32_t>(r.blocks.table.size());
    bool last_chunk = r.num_computed + batch[i].chunk == r.tokens.size();
    if (last_chunk) {
      fill_sampling(r);
      s.sampling = &r.sampling;
    }
    // handle_token's length limits, after this step's token.
    next_is_decode = next_is_decode && last_chunk && r.num_generated + 1 < r.gen.max_new_tokens &&
                     r.tokens.size() + 1 < r.max_total;
    outputs[i].struct_size = sizeof(lmrt_token_logprobs);
  }
  lmrt_step_batch step{sizeof(lmrt_step_batch), static_cast<uint32_t>(seqs.size()), seqs.data(),
                       next_is_decode ? LMRT_STEP_NEXT_IS_DECODE : 0u, 0};
  lmrt_status* st = engine->step(step, outputs.data());
  ++local.steps;

  if (st) {
    std::string msg = std::string("engine step failed: ") + status_message(st);
    release_status(st);
    log::write(LMRT_LOG_ERROR, "scheduler", msg);
    for (auto& slot : batch) {
      finish(*slot.r, LMRT_FINISH_ERROR, msg);  // releases the blocks: their KV is undefined now
    }
  } else {
    for (size_t i = 0; i < batch.size(); ++i) {
      Request& r = *batch[i].r;
      bool sampled = seqs[i].sampling != nullptr;
      bool decode = sampled && batch[i].chunk == 1 && r.num_generated > 0;
      if (!decode) local.prompt_tokens += batch[i].chunk;
      r.num_computed += batch[i].chunk;
      blocks->commit_full_blocks(r.blocks, r.tokens, r.num_computed);
      if (sampled) handle_token(r, outputs[i]);
    }
  }
  // 4. Retire what finished (finish() marks them with an emptied callback).
  running.erase(std::remove_if(running.begin(), running.end(), [](const auto& r) { return !r->callback; }),
                running.end());
  publish_counters();
}

void Runtime::Impl::handle_token(Request& r, const lmrt_token_logprobs& out) {
  int32_t tok = out.token;
  auto now = Clock::now();
  if (!r.got_token) {
    r.got_token = true;
    r.first_token = now;
  }
  ++r.num_generated;
  ++local.generated_tokens;
  // Tokens per 100 ms bucket, so the window stays small whatever the throughput.
  if (local.recent_tokens.empty() || now - local.recent_tokens.back().first > std::chrono::milliseconds(100))
    local.recent_tokens.emplace_back(now, 0);
  ++local.recent_tokens.back().second;
  r.tokens.push_back(tok);

  if (std::binary_search(r.stop_ids.begin(), r.stop_ids.end(), tok)) {
    finish(r, LMRT_FINISH_STOP);
    return;
  }
  RuntimeEvent ev;
  ev.kind = LMRT_EVENT_DELTA;
  ev.tokens.push_back(tok);
  if (r.gen.logprobs) ev.logprobs.push_back(out);
  // A model's embedding may have more rows than its tokenizer has ids (Qwen2 pads 151646 to 152064): such an id
  // has no text, as Hugging Face tokenizers decode it, but stays in the output ids.
  std::string piece = tok < tokenizer->vocab_size() ? r.detok->push(tok) : std::string();
  auto res = r.stops->push(piece);
  ev.text = std::move(res.emit);
  if (res.stopped) {
    r.stopped_by_word = true;
    emit(r, ev);
    finish(r, LMRT_FINISH_STOP);
    return;
  }
  if (r.num_generated >= r.gen.max_new_tokens || r.tokens.size() >= r.max_total) {
    emit(r, ev);
    finish(r, LMRT_FINISH_LENGTH,
           r.length_by_session && r.tokens.size() >= r.max_total
               ? "reached session_len (" + std::to_string(session_len) + " tokens: prompt " +
                     std::to_string(r.input_end) + " + output " + std::to_string(r.num_generated) + ")"
               : std::string());
    return;
  }
  emit(r, ev);
}

void Runtime::Impl::emit(Request& r, RuntimeEvent& ev) {
  ev.request_id = r.id;
  ev.input_tokens = r.input_tokens;
  ev.output_tokens = r.num_generated;
  ev.cached_tokens = r.cached_tokens;
  auto now = Clock::now();
  ev.queue_seconds = r.scheduled ? seconds(r.first_scheduled - r.submitted) : seconds(now - r.submitted);
  ev.first_token_seconds = r.got_token ? seconds(r.first_token - r.submitted) : 0.0;
  ev.total_seconds = seconds(now - r.submitted);
  if (r.callback) r.callback(ev);
}

void Runtime::Impl::finish(Request& r, lmrt_finish_reason reason, std::string message) {
  if (!r.callback) return;  // already finished
  RuntimeEvent ev;
  ev.kind = LMRT_EVENT_FINISHED;
  ev.finish_reason = reason;
  ev.error_message = std::move(message);
  if (reason != LMRT_FINISH_ERROR && !r.stopped_by_word) {
    // Text held back for a possible stop word or an incomplete character is final now.
    auto res = r.stops->push(r.detok->finish());
    ev.text = res.emit + (res.stopped ? std::string() : r.stops->flush());
  }
  switch (reason) {
    case LMRT_FINISH_STOP: ++local.finished_stop; break;
    case LMRT_FINISH_LENGTH: ++local.finished_length; break;
    case LMRT_FINISH_CANCELLED: ++local.finished_cancelled; break;
    default: ++local.finished_error; break;
  }
  // An interactive session keeps its tokens and KV for the next request.
  bool keep = r.session_id != 0 && !r.end_session && reason != LMRT_FINISH_ERROR;
  if (keep && r.admitted_once) {
    Session& s = sessions[r.session_id];
    s.tokens = r.tokens;
    s.num_computed = r.num_computed;  // 0 when it was preempted and not yet recomputed
    s.blocks = std::move(r.blocks);
    s.last_used = Clock::now();
    r.blocks = SeqBlocks{};
  } else if (!keep) {
    if (!r.blocks.empty()) blocks->release(r.blocks);
    if (r.session_id != 0) {
      if (auto it = sessions.find(r.session_id); it != sessions.end()) {
        blocks->release(it->second.blocks);
        sessions.erase(it);
      }
    }
  }
  if (r.session_id != 0) {
    std::lock_guard lock(mutex);
    busy_sessions.erase(r.session_id);
    if (!keep) known_sessions.erase(r.session_id);
  }
  emit(r, ev);
  r.callback = nullptr;
}

void Runtime::Impl::publish_counters() {
  auto now = Clock::now();
  while (!local.recent_tokens.empty() && now - local.recent_tokens.front().first > std::chrono::seconds(10))
    local.recent_tokens.pop_front();
  local.running = running.size();
  local.waiting = waiting.size();
  local.blocks_total = blocks->total();
  local.blocks_used = blocks->used_count();
  local.blocks_free = blocks->available_count();
  local.blocks_cached = blocks->cached_count();
  local.prefix = blocks->stats();
  std::lock_guard lock(mutex);
  counters = local;
}

}  // namespace lmrt
