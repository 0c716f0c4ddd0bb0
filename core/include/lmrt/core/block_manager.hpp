// KV block accounting with prefix caching: which physical KV blocks each sequence
// owns. The engine owns the device memory of the pool (engine.h); this class only
// hands out block ids 0..num_blocks-1 and counts references.
//
// Block states. Every block is in exactly one of:
//   free         refcount 0, holds nothing reusable; taken first for fresh blocks.
//   cached-free  refcount 0, registered in the prefix cache (full, computed KV);
//                reusable by a later sequence with the same prefix, or evicted
//                (least recently released first) when no free block is left.
//   in use       refcount > 0, in the block table of that many live sequences;
//                may or may not be registered in the prefix cache.
//
// Prefix cache. A FULL block whose KV the engine has computed is registered under
// its content hash chain (block_hash.hpp). A registered block also stores its
// tokens, the hash of its tokens, its parent's hash and a link to its parent block
// (id and registration generation). A lookup accepts a candidate only if its
// tokens are equal and its parent link names the block already matched for the
// previous position (or the same root salt): sharing is exact by induction from
// the root, whatever the hash does. A hash collision can only cost a cache hit.
//
// Write safety (the engine.h promise "the core never asks to write a block another
// sequence uses"). A sequence only writes positions >= its computed count, i.e.
// into blocks past its committed prefix. Those blocks are always fresh and
// private: shared blocks come only from the prefix cache, which holds only full,
// committed blocks, and a match is capped so that at least the last prompt token is
// computed, so writing starts on a block boundary after the matched blocks.
// `writable()` checks this for a given start position.
//
// Threading: not thread-safe; owned by the scheduler thread. Calls that change a
// sequence's table (allocate, grow, commit_full_blocks, release) must not run while
// an engine step that uses that table is in flight.
#pragma once

#include <cstdint>
#include <list>
#include <span>
#include <unordered_map>
#include <vector>

namespace lmrt {

struct BlockManagerOptions {
  uint32_t num_blocks = 0;     // physical blocks in the pool (the engine's allocate_cache)
  uint32_t block_seq_len = 0;  // tokens per block, B
  bool prefix_caching = true;
  // Test hook: keep only this many low bits of every hash (0..64), to force
  // collisions. Results must not change, only speed.
  uint32_t hash_bits = 64;
};

struct BlockManagerStats {
  uint64_t prefix_queries = 0;      // allocate() calls with prefix caching on
  uint64_t prefix_query_tokens = 0; // prompt tokens those calls looked up
  uint64_t prefix_hit_tokens = 0;   // tokens of them whose KV came from the cache
  uint64_t evictions = 0;           // cached-free blocks reclaimed for fresh use
  uint64_t deduplicated_blocks = 0; // committed blocks swapped for an equal cached one
  double hit_rate() const {
    return prefix_query_tokens == 0 ? 0.0 : static_cast<double>(prefix_hit_tokens) / prefix_query_tokens;
  }
};

// The blocks one sequence owns. Created empty by the scheduler, filled by
// BlockManager::allocate, extended by grow (also much later, for an interactive
// session that keeps its blocks between requests), emptied by release. Must be
// released to the manager that filled it before it is dropped.
struct SeqBlocks {
  // Physical block ids; table[j] holds positions [j*B, (j+1)*B). Hand this to the
  // engine as the block table; read it afresh for every step (commit may swap
  // committed entries for equal cached blocks).
  std::vector<int32_t> table;
  // Leading positions whose KV came from the prefix cache at allocate (a multiple
  // of B): the first step computes from this position.
  uint32_t num_cached_tokens = 0;
  // Chain hashes of the leading blocks that are registered in the prefix cache
  // (matched at allocate or committed since); size() is the committed block count.
  std::vector<uint64_t> block_hashes;
  uint64_t salt = 0;  // the root of the hash chain, given at allocate

  bool empty() const { return table.empty(); }
  uint32_t num_committed_blocks() const { return static_cast<uint32_t>(block_hashes.size()); }
};

class BlockManager {
 public:
  // Throws INVALID_ARGUMENT for num_blocks == 0, block_seq_len == 0 or hash_bits > 64.
  explicit BlockManager(const BlockManagerOptions& options);

  uint32_t block_seq_len() const { return block_seq_len_; }
  bool prefix_caching() const { return prefix_caching_; }
  uint32_t total() const { return static_cast<uint32_t>(refcount_.size()); }
  uint32_t free_count() const { return static_cast<uint32_t>(free_.size()); }  // plain free
  uint32_t cached_free_count() const { return static_cast<uint32_t>(lru_.size()); }
  uint32_t available_count() const { return free_count() + cached_free_count(); }  // takeable
  uint32_t used_count() const { return total() - available_count(); }             // refcount > 0
  uint32_t cached_count() const { return static_cast<uint32_t>(index_.size()); }  // registered, any refcount
  uint32_t refcount(int32_t block) const;
  bool is_cached(int32_t block) const;  // registered in the prefix cache
  const BlockManagerStats& stats() const { return stats_; }

  // Blocks needed to hold `num_positions` positions: ceil(num_positions / B).
  uint32_t blocks_for(uint32_t num_positions) const;

  // How many leading tokens of `tokens` have KV in the prefix cache under `salt`:
  // a multiple of B, at most ((len - 1) / B) * B so that the last token is always
  // computed (the engine needs its logits). 0 when prefix caching is off. Pure: no
  // statistics, no recency change.
  uint32_t match_prefix(std::span<const int32_t> tokens, uint64_t salt = 0) const;

  // How much available_count() would drop if allocate(seq, tokens, num_positions,
  // salt) ran now: fresh blocks plus matched blocks that are cached-free.
  uint32_t blocks_needed(std::span<const int32_t> tokens, uint32_t num_positions, uint64_t salt = 0) const;
  bool can_allocate(std::span<const int32_t> tokens, uint32_t num_positions, uint64_t salt = 0) const {
    return blocks_needed(tokens, num_positions, salt) <= available_count();
  }

  // Fills an empty `seq` for a new sequence with prompt `tokens`: reuses the cached
  // prefix blocks (refcount + 1, seq.num_cached_tokens set) and takes fresh blocks
  // so the table covers max(num_positions, cached tokens) positions. Fresh blocks
  // come from the free list first, then by evicting the least recently released
  // cached-free block. Returns false, changing nothing, if too few blocks are
  // available. Throws INVALID_ARGUMENT if seq is not empty.
  bool allocate(SeqBlocks& seq, std::span<const int32_t> tokens, uint32_t num_positions, uint64_t salt = 0);

  // Extends seq's table with fresh blocks to cover `num_positions` positions
  // (decode, the next prefill chunk, a session's next turn). No-op if it already
  // does. Returns false, changing nothing, if too few blocks are available.
  bool grow(SeqBlocks& seq, uint32_t num_positions);
  uint32_t blocks_to_grow(const SeqBlocks& seq, uint32_t num_positions) const;

  // Registers in the prefix cache the blocks of seq that became full and computed:
  // those inside the first `num_computed` positions that are not yet committed.
  // `tokens` is the sequence's token stream, at least num_computed long (the same
  // leading tokens as every earlier call). A block whose equal (same tokens, same
  // parent) is already cached is swapped for it and its own copy freed. Call
  // between steps, after the engine computed those positions. No-op when prefix
  // caching is off. Throws INVALID_ARGUMENT if tokens or the table are too short.
  void commit_full_blocks(SeqBlocks& seq, std::span<const int32_t> tokens, uint32_t num_computed);

  // Drops seq's references and empties it. Blocks left with no reference become
  // cached-free if registered (the tail of the sequence counting as less recently
  // used than its head, so leaves go before their parents) and free otherwise.
  void release(SeqBlocks& seq);

  // True if every block of seq holding a position >= start_pos is private to it
  // (refcount 1) and not registered, so the engine may write there.
  bool writable(const SeqBlocks& seq, uint32_t start_pos) const;

  // Checks the internal invariants (state partition, index consistency, the LRU
  // list); throws INTERNAL naming the first violation. O(num_blocks). Runs after
  // every change in builds with LMRT_BLOCK_MANAGER_CHECKS defined.
  void check_invariants() const;

 private:
  static constexpr int32_t kRoot = -1;

  // Where a candidate's parent must be: a block id and that block's registration
  // generation, or kRoot and the salt.
  struct ParentLink {
    int32_t block;
    uint64_t key;
  };
  struct Match {
    std::vector<int32_t> blocks;
    std::vector<uint64_t> hashes;
  };

  uint64_t masked(uint64_t h) const { return h & hash_mask_; }
  std::span<const int32_t> stored_tokens(int32_t block) const;
  ParentLink link_of_parent(const SeqBlocks& seq, uint32_t block_index) const;
  int32_t find_cached(uint64_t hash, uint64_t parent_hash, ParentLink parent, uint64_t tokens_hash,
                      std::span<const int32_t> tokens) const;
  Match match(std::span<const int32_t> tokens, uint64_t salt) const;
  int32_t take_fresh();  // caller has checked availability
  void acquire(int32_t block);
  void drop(int32_t block);
  void register_block(int32_t block, uint64_t hash, uint64_t parent_hash, uint64_t tokens_hash, ParentLink parent,
                      std::span<const int32_t> tokens);
  void unregister(int32_t block);
  void debug_check() const;

  uint32_t block_seq_len_;
  bool prefix_caching_;
  uint64_t hash_mask_;

  std::vector<uint32_t> refcount_;
  std::vector<int32_t> free_;  // stack of plain free blocks
  std::list<int32_t> lru_;     // cached-free blocks, least recently released first
  std::vector<std::list<int32_t>::iterator> lru_pos_;

  // Prefix-cache entries, per block (meaningful while registered_[b]).
  std::vector<uint8_t> registered_;
  std::vector<uint64_t> hash_, parent_hash_, tokens_hash_, generation_;
  std::vector<ParentLink> parent_;
  std::vector<int32_t> tokens_;  // B stored tokens per block, for verification
  std::unordered_multimap<uint64_t, int32_t> index_;  // chain hash -> registered blocks
  uint64_t next_generation_ = 1;

  BlockManagerStats stats_;
};

}  // namespace lmrt
