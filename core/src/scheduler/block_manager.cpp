#include "lmrt/core/block_manager.hpp"

#include <algorithm>
#include <string>

#include "lmrt/core/block_hash.hpp"
#include "lmrt/core/error.hpp"

namespace lmrt {

BlockManager::BlockManager(const BlockManagerOptions& options)
    : block_seq_len_(options.block_seq_len), prefix_caching_(options.prefix_caching) {
  if (options.num_blocks == 0) fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: num_blocks must be > 0");
  if (options.num_blocks > static_cast<uint32_t>(INT32_MAX))
    fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: num_blocks must fit a block id (int32)");
  if (options.block_seq_len == 0) fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: block_seq_len must be > 0");
  if (options.hash_bits > 64) fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: hash_bits must be <= 64");
  hash_mask_ = options.hash_bits == 64 ? ~uint64_t{0} : (uint64_t{1} << options.hash_bits) - 1;

  const uint32_t n = options.num_blocks;
  refcount_.assign(n, 0);
  lru_pos_.assign(n, lru_.end());
  // Popped from the back: block 0 is handed out first, which keeps logs readable.
  free_.reserve(n);
  for (uint32_t i = n; i-- > 0;) free_.push_back(static_cast<int32_t>(i));
  registered_.assign(n, 0);
  if (prefix_caching_) {
    hash_.assign(n, 0);
    parent_hash_.assign(n, 0);
    tokens_hash_.assign(n, 0);
    generation_.assign(n, 0);
    parent_.assign(n, ParentLink{kRoot, 0});
    tokens_.assign(static_cast<size_t>(n) * block_seq_len_, 0);
    index_.reserve(n);
  }
}

uint32_t BlockManager::refcount(int32_t block) const {
  if (block < 0 || static_cast<uint32_t>(block) >= total())
    fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: no block " + std::to_string(block));
  return refcount_[block];
}

bool BlockManager::is_cached(int32_t block) const {
  refcount(block);  // range check
  return registered_[block] != 0;
}

uint32_t BlockManager::blocks_for(uint32_t num_positions) const {
  return static_cast<uint32_t>((uint64_t{num_positions} + block_seq_len_ - 1) / block_seq_len_);
}

std::span<const int32_t> BlockManager::stored_tokens(int32_t block) const {
  return std::span<const int32_t>(tokens_).subspan(static_cast<size_t>(block) * block_seq_len_, block_seq_len_);
}

BlockManager::ParentLink BlockManager::link_of_parent(const SeqBlocks& seq, uint32_t block_index) const {
  if (block_index == 0) return ParentLink{kRoot, seq.salt};
  const int32_t parent = seq.table[block_index - 1];
  return ParentLink{parent, generation_[parent]};
}

int32_t BlockManager::find_cached(uint64_t hash, uint64_t parent_hash, ParentLink parent, uint64_t tokens_hash,
                                  std::span<const int32_t> tokens) const {
  auto [it, end] = index_.equal_range(hash);
  for (; it != end; ++it) {
    const int32_t b = it->second;
    // The hash only narrows the search; these checks make a hit exact.
    if (parent_[b].block != parent.block || parent_[b].key != parent.key) continue;
    if (parent_hash_[b] != parent_hash || tokens_hash_[b] != tokens_hash) continue;
    const auto stored = stored_tokens(b);
    if (std::equal(stored.begin(), stored.end(), tokens.begin(), tokens.end())) return b;
  }
  return -1;
}

BlockManager::Match BlockManager::match(std::span<const int32_t> tokens, uint64_t salt) const {
  Match m;
  if (!prefix_caching_ || tokens.empty()) return m;
  // At least the last token is computed: the engine samples from its logits.
  const size_t max_blocks = (tokens.size() - 1) / block_seq_len_;
  uint64_t h = masked(root_hash(salt));
  ParentLink link{kRoot, salt};
  for (size_t j = 0; j < max_blocks; ++j) {
    const auto block_tokens = tokens.subspan(j * block_seq_len_, block_seq_len_);
    const uint64_t th = masked(hash_tokens(block_tokens));
    const uint64_t hj = masked(chain_hash(h, th));
    const int32_t b = find_cached(hj, h, link, th, block_tokens);
    if (b < 0) break;
    m.blocks.push_back(b);
    m.hashes.push_back(hj);
    link = ParentLink{b, generation_[b]};
    h = hj;
  }
  return m;
}

uint32_t BlockManager::match_prefix(std::span<const int32_t> tokens, uint64_t salt) const {
  return static_cast<uint32_t>(match(tokens, salt).blocks.size()) * block_seq_len_;
}

uint32_t BlockManager::blocks_needed(std::span<const int32_t> tokens, uint32_t num_positions, uint64_t salt) const {
  const Match m = match(tokens, salt);
  const uint32_t matched = static_cast<uint32_t>(m.blocks.size());
  uint32_t needed = std::max(blocks_for(num_positions), matched) - matched;
  for (int32_t b : m.blocks) needed += refcount_[b] == 0 ? 1 : 0;  // leaves the cached-free pool
  return needed;
}

bool BlockManager::allocate(SeqBlocks& seq, std::span<const int32_t> tokens, uint32_t num_positions, uint64_t salt) {
  if (!seq.empty() || !seq.block_hashes.empty())
    fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: allocate needs an empty sequence (release it first)");
  const Match m = match(tokens, salt);
  const uint32_t matched = static_cast<uint32_t>(m.blocks.size());
  const uint32_t fresh = std::max(blocks_for(num_positions), matched) - matched;
  uint32_t needed = fresh;
  for (int32_t b : m.blocks) needed += refcount_[b] == 0 ? 1 : 0;
  if (needed > available_count()) return false;

  // Take the matched blocks before any eviction so that none of them is evicted.
  seq.table.reserve(matched + fresh);
  for (int32_t b : m.blocks) {
    acquire(b);
    seq.table.push_back(b);
  }
  for (uint32_t i = 0; i < fresh; ++i) seq.table.push_back(take_fresh());
  seq.num_cached_tokens = matched * block_seq_len_;
  seq.block_hashes = m.hashes;
  seq.salt = salt;
  if (prefix_caching_) {
    stats_.prefix_queries += 1;
    stats_.prefix_query_tokens += tokens.size();
    stats_.prefix_hit_tokens += seq.num_cached_tokens;
  }
  debug_check();
  return true;
}

uint32_t BlockManager::blocks_to_grow(const SeqBlocks& seq, uint32_t num_positions) const {
  const uint32_t want = blocks_for(num_positions);
  return want > seq.table.size() ? want - static_cast<uint32_t>(seq.table.size()) : 0;
}

bool BlockManager::grow(SeqBlocks& seq, uint32_t num_positions) {
  const uint32_t more = blocks_to_grow(seq, num_positions);
  if (more > available_count()) return false;
  for (uint32_t i = 0; i < more; ++i) seq.table.push_back(take_fresh());
  if (more > 0) debug_check();
  return true;
}

void BlockManager::commit_full_blocks(SeqBlocks& seq, std::span<const int32_t> tokens, uint32_t num_computed) {
  if (!prefix_caching_) return;
  if (tokens.size() < num_computed)
    fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: commit of " + std::to_string(num_computed) +
                                           " computed positions with only " + std::to_string(tokens.size()) +
                                           " tokens");
  if (num_computed > uint64_t{seq.table.size()} * block_seq_len_)
    fail(LMRT_STATUS_INVALID_ARGUMENT, "block manager: commit of " + std::to_string(num_computed) +
                                           " positions beyond the sequence's " + std::to_string(seq.table.size()) +
                                           " blocks");
  const uint32_t full = num_computed / block_seq_len_;
  for (uint32_t j = seq.num_committed_blocks(); j < full; ++j) {
    const auto block_tokens = tokens.subspan(static_cast<size_t>(j) * block_seq_len_, block_seq_len_);
    const uint64_t th = masked(hash_tokens(block_tokens));
    const uint64_t parent_hash = j == 0 ? masked(root_hash(seq.salt)) : seq.block_hashes[j - 1];
    const uint64_t h = masked(chain_hash(parent_hash, th));
    const ParentLink link = link_of_parent(seq, j);
    const int32_t own = seq.table[j];
    if (refcount_[own] != 1 || registered_[own])
      fail(LMRT_STATUS_INTERNAL, "block manager: uncommitted block " + std::to_string(own) + " is shared or cached");
    const int32_t existing = find_cached(h, parent_hash, link, th, block_tokens);
    if (existing >= 0) {
      // Another sequence computed the same block first: share its copy so that the
      // cache keeps one block per content and ours returns to the pool now.
      acquire(existing);
      drop(own);
      seq.table[j] = existing;
      stats_.deduplicated_blocks += 1;
    } else {
      register_block(own, h, parent_hash, th, link, block_tokens);
    }
    seq.block_hashes.push_back(h);
  }
  debug_check();
}

void BlockManager::release(SeqBlocks& seq) {
  // Tail first: its blocks enter the LRU list before (older than) the head's.
  for (size_t j = seq.table.size(); j-- > 0;) drop(seq.table[j]);
  seq.table.clear();
  seq.block_hashes.clear();
  seq.num_cached_tokens = 0;
  debug_check();
}

bool BlockManager::writable(const SeqBlocks& seq, uint32_t start_pos) const {
  for (size_t j = start_pos / block_seq_len_; j < seq.table.size(); ++j) {
    const int32_t b = seq.table[j];
    if (refcount_[b] != 1 || registered_[b]) return false;
  }
  return true;
}

int32_t BlockManager::take_fresh() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else {
    if (lru_.empty()) fail(LMRT_STATUS_INTERNAL, "block manager: no block to take (availability not checked)");
    b = lru_.front();
    unregister(b);
    stats_.evictions += 1;
  }
  refcount_[b] = 1;
  return b;
}

void BlockManager::acquire(int32_t b) {
  if (refcount_[b] == 0) {
    if (!registered_[b]) fail(LMRT_STATUS_INTERNAL, "block manager: acquire of an unregistered free block");
    lru_.erase(lru_pos_[b]);
    lru_pos_[b] = lru_.end();
  }
  refcount_[b] += 1;
}

void BlockManager::drop(int32_t b) {
  if (refcount_[b] == 0) fail(LMRT_STATUS_INTERNAL, "block manager: release of free block " + std::to_string(b));
  if (--refcount_[b] > 0) return;
  if (registered_[b]) {
    lru_pos_[b] = lru_.insert(lru_.end(), b);
  } else {
    free_.push_back(b);
  }
}

void BlockManager::register_block(int32_t b, uint64_t hash, uint64_t parent_hash, uint64_t tokens_hash,
                                  ParentLink parent, std::span<const int32_t> tokens) {
  registered_[b] = 1;
  hash_[b] = hash;
  parent_hash_[b] = parent_hash;
  tokens_hash_[b] = tokens_hash;
  parent_[b] = parent;
  // A fresh generation invalidates links that children of this id's earlier
  // contents may still hold. Defence in depth: release is tail-first, so a cached
  // child is always evicted before its parent and such links do not arise.
  generation_[b] = next_generation_++;
  std::copy(tokens.begin(), tokens.end(), tokens_.begin() + static_cast<ptrdiff_t>(b) * block_seq_len_);
  index_.emplace(hash, b);
}

void BlockManager::unregister(int32_t b) {
  auto [it, end] = index_.equal_range(hash_[b]);
  for (; it != end; ++it) {
    if (it->second == b) {
      index_.erase(it);
      break;
    }
  }
  registered_[b] = 0;
  if (lru_pos_[b] != lru_.end()) {
    lru_.erase(lru_pos_[b]);
    lru_pos_[b] = lru_.end();
  }
}

void BlockManager::debug_check() const {
#ifdef LMRT_BLOCK_MANAGER_CHECKS
  check_invariants();
#endif
}

void BlockManager::check_invariants() const {
  auto violated = [](const std::string& what) { fail(LMRT_STATUS_INTERNAL, "block manager invariant: " + what); };
  const uint32_t n = total();
  std::vector<uint8_t> in_free(n, 0), in_lru(n, 0);
  for (int32_t b : free_) {
    if (b < 0 || static_cast<uint32_t>(b) >= n) violated("free list holds bad id " + std::to_string(b));
    if (in_free[b]++) violated("block " + std::to_string(b) + " twice in the free list");
  }
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    const int32_t b = *it;
    if (b < 0 || static_cast<uint32_t>(b) >= n) violated("LRU list holds bad id " + std::to_string(b));
    if (in_lru[b]++) violated("block " + std::to_string(b) + " twice in the LRU list");
    if (lru_pos_[b] != it) violated("LRU position of block " + std::to_string(b) + " is stale");
  }
  size_t num_registered = 0;
  for (uint32_t b = 0; b < n; ++b) {
    const std::string name = "block " + std::to_string(b);
    const bool used = refcount_[b] > 0;
    if (used + in_free[b] + in_lru[b] != 1) violated(name + " is not in exactly one state");
    if (in_lru[b] && !registered_[b]) violated(name + " is cached-free but not registered");
    if (in_free[b] && registered_[b]) violated(name + " is plain free but registered");
    if (!in_lru[b] && lru_pos_[b] != lru_.end()) violated(name + " has an LRU position but is not listed");
    if (registered_[b]) {
      if (!prefix_caching_) violated(name + " registered with prefix caching off");
      ++num_registered;
      size_t hits = 0;
      auto [it, end] = index_.equal_range(hash_[b]);
      for (; it != end; ++it) hits += it->second == static_cast<int32_t>(b);
      if (hits != 1) violated(name + " is indexed " + std::to_string(hits) + " times");
      const ParentLink p = parent_[b];
      if (p.block != kRoot && registered_[p.block] && generation_[p.block] == p.key &&
          hash_[p.block] != parent_hash_[b])
        violated(name + "'s parent link and parent hash disagree");
      if (tokens_hash_[b] != masked(hash_tokens(stored_tokens(static_cast<int32_t>(b)))))
        violated(name + "'s stored tokens do not match their hash");
    }
  }
  if (index_.size() != num_registered) violated("the index holds entries for unregistered blocks");
}

}  // namespace lmrt
