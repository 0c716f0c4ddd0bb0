#include "generation.hpp"

#include <chrono>

#include "api_error.hpp"

namespace lmrt::http {

Generation::~Generation() {
  if (unfinished_ > 0) cancel();
}

void Generation::on_event(void* user, const lmrt_event* ev) {
  auto* slot = static_cast<Slot*>(user);
  Event e;
  e.choice = slot->choice;
  e.finished = ev->kind == LMRT_EVENT_FINISHED;
  if (ev->text.data) e.text.assign(ev->text.data, ev->text.size);
  if (ev->tokens) e.tokens.assign(ev->tokens, ev->tokens + ev->num_tokens);
  if (ev->logprobs) e.logprobs.assign(ev->logprobs, ev->logprobs + ev->num_tokens);
  e.finish_reason = ev->finish_reason;
  if (ev->error_message.data) e.error.assign(ev->error_message.data, ev->error_message.size);
  e.input_tokens = ev->input_tokens;
  e.output_tokens = ev->output_tokens;
  e.cached_tokens = ev->cached_tokens;
  e.queue_seconds = ev->queue_seconds;
  e.first_token_seconds = ev->first_token_seconds;
  e.total_seconds = ev->total_seconds;
  {
    std::lock_guard lock(slot->queue->mutex);
    slot->queue->events.push_back(std::move(e));
  }
  slot->queue->ready.notify_one();
  if (ev->kind == LMRT_EVENT_FINISHED) delete slot;
}

void Generation::submit(const lmrt_request_params& params) {
  auto* slot = new Slot{queue_, static_cast<uint32_t>(ids_.size())};
  uint64_t id = 0;
  lmrt_status* st = api_->submit(rt_, &params, &Generation::on_event, slot, &id);
  if (st) {
    delete slot;
    std::string msg = api_->status_get_message(st);
    lmrt_status_code code = api_->status_get_code(st);
    api_->status_release(st);
    cancel();  // the choices already submitted
    switch (code) {
      case LMRT_STATUS_INVALID_ARGUMENT: throw invalid_request(msg);
      case LMRT_STATUS_CAPACITY:
        throw ApiError(400, msg, "invalid_request_error", "messages", "context_length_exceeded");
      case LMRT_STATUS_ALREADY_EXISTS: throw ApiError(409, msg, "invalid_request_error", "session_id");
      case LMRT_STATUS_CANCELLED: throw ApiError(503, msg, "server_error", "", "shutting_down");
      default: throw ApiError(500, msg, "server_error");
    }
  }
  ids_.push_back(id);
  ++unfinished_;
  if (cancelled_) {
    if (lmrt_status* c = api_->cancel(rt_, id)) api_->status_release(c);
  }
}

bool Generation::next(Event& out, int timeout_ms) {
  std::unique_lock lock(queue_->mutex);
  if (!queue_->ready.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !queue_->events.empty(); }))
    return false;
  out = std::move(queue_->events.front());
  queue_->events.pop_front();
  if (out.finished && unfinished_ > 0) --unfinished_;
  return true;
}

void Generation::cancel() {
  cancelled_ = true;
  for (uint64_t id : ids_) {
    lmrt_status* st = api_->cancel(rt_, id);  // finished ids are a no-op
    if (st) api_->status_release(st);
  }
}

}  // namespace lmrt::http
