// Test-only engine "test-echo": no weights, no math. It samples
// (last input token + 1) mod vocab so that the core's scheduling can be checked
// exactly, and it validates every block table it is given. It also checks each
// LMRT_STEP_NEXT_IS_DECODE hint against the step that follows and logs the count
// when destroyed (tests/runtime).
#include <string>
#include <vector>

#include "lmrt/engine.h"
#include "lmrt/plugin.hpp"

namespace {
lmrt::plugin::Host g_host;

// What a hinted step promised of the next: this sequence, one token (the one sampled) at this position.
struct Promise {
  uint64_t seq_id;
  int32_t token;
  uint32_t pos;
};

struct Engine {
  uint32_t vocab = 0;
  uint32_t num_blocks = 0;
  uint32_t block_seq_len = 0;
  std::vector<Promise> promised;  // empty: the last step carried no hint
  uint64_t steps = 0, hinted = 0, kept = 0;
};

// Whether the batch is exactly what the last hinted step promised.
bool keeps(const std::vector<Promise>& promised, const lmrt_step_batch& batch) {
  if (batch.num_seqs != promised.size()) return false;
  for (uint32_t i = 0; i < batch.num_seqs; ++i) {
    const lmrt_step_seq& s = batch.seqs[i];
    if (s.seq_id != promised[i].seq_id || s.num_tokens != 1 || s.tokens[0] != promised[i].token ||
        s.start_pos != promised[i].pos)
      return false;
  }
  return true;
}

lmrt_status* create(const lmrt_host_api*, const lmrt_engine_create_params* p, lmrt_engine** out) {
  return g_host.guard([&] {
    if (!p || !p->model || !out) throw std::invalid_argument("test-echo: NULL argument");
    auto* e = new Engine;
    e->vocab = p->model->vocab_size;
    *out = reinterpret_cast<lmrt_engine*>(e);
  });
}

lmrt_status* capacity(lmrt_engine*, const lmrt_capacity_query* q, lmrt_capacity* out) {
  return g_host.guard([&] {
    out->num_blocks = 4096;
    out->block_bytes = q->block_seq_len;
    out->free_bytes = out->total_bytes = 4096ull * q->block_seq_len;
    lmrt::plugin::copy_text(out->device, "test-echo");
  });
}

lmrt_status* allocate_cache(lmrt_engine* engine, const lmrt_cache_config* c) {
  return g_host.guard([&] {
    auto* e = reinterpret_cast<Engine*>(engine);
    e->num_blocks = c->num_blocks;
    e->block_seq_len = c->block_seq_len;
  });
}

lmrt_status* step(lmrt_engine* engine, const lmrt_step_batch* batch, lmrt_token_logprobs* outputs) {
  return g_host.guard([&] {
    auto* e = reinterpret_cast<Engine*>(engine);
    for (uint32_t i = 0; i < batch->num_seqs; ++i) {
      const lmrt_step_seq& s = batch->seqs[i];
      uint64_t needed = (uint64_t(s.start_pos) + s.num_tokens + e->block_seq_len - 1) / e->block_seq_len;
      if (s.num_blocks < needed) throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "test-echo: block table too short");
      for (uint32_t b = 0; b < s.num_blocks; ++b)
        if (s.block_table[b] < 0 || uint32_t(s.block_table[b]) >= e->num_blocks)
          throw lmrt::plugin::Error(LMRT_STATUS_INVALID_ARGUMENT, "test-echo: block id out of range");
      outputs[i].token = s.sampling ? int32_t((uint32_t(s.tokens[s.num_tokens - 1]) + 1) % e->vocab) : -1;
      outputs[i].logprob = 0.0f;
      outputs[i].num_top = 0;
    }
    ++e->steps;
    if (!e->promised.empty()) e->kept += keeps(e->promised, *batch);
    e->promised.clear();
    if (LMRT_HAS_FIELD(batch, lmrt_step_batch, flags) && (batch->flags & LMRT_STEP_NEXT_IS_DECODE)) {
      ++e->hinted;
      for (uint32_t i = 0; i < batch->num_seqs; ++i) {
        const lmrt_step_seq& s = batch->seqs[i];
        e->promised.push_back({s.seq_id, outputs[i].token, s.start_pos + s.num_tokens});
      }
    }
  });
}

void destroy(lmrt_engine* engine) {
  auto* e = reinterpret_cast<Engine*>(engine);
  if (e)
    g_host.log(LMRT_LOG_INFO, "test-echo: " + std::to_string(e->steps) + " steps, " + std::to_string(e->hinted) +
                                  " hinted next-is-decode, " + std::to_string(e->kept) + " of them followed as hinted");
  delete e;
}

lmrt_status* probe(const lmrt_host_api*, lmrt_str, lmrt_capabilities* caps) {
  caps->score = 5;
  lmrt::plugin::copy_text(caps->devices, "none (test)");
  lmrt::plugin::copy_text(caps->dtypes, "float32");
  lmrt::plugin::copy_text(caps->formats, "hf");
  return nullptr;
}

const lmrt_engine_api kApi = {sizeof(lmrt_engine_api), 0, create, capacity, allocate_cache, step, destroy};
}  // namespace

LMRT_PLUGIN_EXPORT lmrt_status* lmrt_plugin_init(const lmrt_host_api* host, uint32_t, lmrt_plugin_descriptor* d) {
  return g_host.guard([&] {
    g_host.attach(host, "test-echo");
    d->abi_version = LMRT_ABI_VERSION;
    d->kind = LMRT_PLUGIN_ENGINE;
    d->name = "test-echo";
    d->version = "1.2.3";
    d->description = "test engine: samples last token + 1";
    d->api = &kApi;
    d->probe = probe;
  });
}
