// An independent, deliberately naive model of what BlockManager must do, written
// from its documented contract rather than its code: the prefix cache is a map
// from the full token prefix of a block (salt, tokens[0, (j+1)*B)) to its users and
// its release time; there are no hashes, ids or lists. Counts, matches and
// evictions of the real manager are compared against it after every operation.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace lmrt::test {

class ReferenceBlockModel {
 public:
  using Key = std::vector<int32_t>;  // salt followed by the tokens of the prefix

  struct Seq {
    uint64_t salt = 0;
    uint32_t table_size = 0;
    uint32_t committed = 0;  // leading blocks that are cache entries
  };

  ReferenceBlockModel(uint32_t total, uint32_t block_seq_len, bool caching)
      : total_(total), B_(block_seq_len), caching_(caching) {}

  uint32_t used() const { return private_ + in_use_entries(); }
  uint32_t cached_free() const { return static_cast<uint32_t>(cache_.size()) - in_use_entries(); }
  uint32_t free() const { return total_ - used() - cached_free(); }
  uint32_t cached() const { return static_cast<uint32_t>(cache_.size()); }
  uint64_t evictions() const { return evictions_; }
  uint64_t dedups() const { return dedups_; }
  uint64_t query_tokens() const { return query_tokens_; }
  uint64_t hit_tokens() const { return hit_tokens_; }
  // Users of the cache entry for block j of a sequence (its expected refcount).
  int users(uint64_t salt, const std::vector<int32_t>& tokens, uint32_t j) const {
    return cache_.at(key(salt, tokens, j)).users;
  }

  uint32_t blocks(uint32_t positions) const { return (positions + B_ - 1) / B_; }

  // Leading blocks found in the cache, capped so the last token is computed.
  uint32_t match_blocks(const std::vector<int32_t>& tokens, uint64_t salt) const {
    if (!caching_ || tokens.empty()) return 0;
    uint32_t j = 0;
    while (j < (tokens.size() - 1) / B_ && cache_.count(key(salt, tokens, j))) ++j;
    return j;
  }

  uint32_t needed(const std::vector<int32_t>& tokens, uint32_t positions, uint64_t salt) const {
    const uint32_t m = match_blocks(tokens, salt);
    uint32_t n = std::max(blocks(positions), m) - m;
    for (uint32_t j = 0; j < m; ++j) n += cache_.at(key(salt, tokens, j)).users == 0;
    return n;
  }

  std::optional<Seq> allocate(const std::vector<int32_t>& tokens, uint32_t positions, uint64_t salt) {
    if (needed(tokens, positions, salt) > free() + cached_free()) return std::nullopt;
    const uint32_t m = match_blocks(tokens, salt);
    for (uint32_t j = 0; j < m; ++j) cache_.at(key(salt, tokens, j)).users += 1;
    const uint32_t fresh = std::max(blocks(positions), m) - m;
    for (uint32_t i = 0; i < fresh; ++i) take_fresh();
    if (caching_) {
      query_tokens_ += tokens.size();
      hit_tokens_ += uint64_t{m} * B_;
    }
    return Seq{salt, m + fresh, m};
  }

  bool grow(Seq& s, uint32_t positions) {
    const uint32_t want = blocks(positions);
    if (want <= s.table_size) return true;
    if (want - s.table_size > free() + cached_free()) return false;
    while (s.table_size < want) {
      take_fresh();
      ++s.table_size;
    }
    return true;
  }

  void commit(Seq& s, const std::vector<int32_t>& tokens, uint32_t computed) {
    if (!caching_) return;
    for (uint32_t j = s.committed; j < computed / B_; ++j) {
      auto [it, inserted] = cache_.try_emplace(key(s.salt, tokens, j));
      if (!inserted) dedups_ += 1;  // an equal block exists: ours goes back to the pool
      it->second.users += 1;
      private_ -= 1;
      s.committed += 1;
    }
  }

  void release(Seq& s, const std::vector<int32_t>& tokens) {
    for (uint32_t j = s.table_size; j-- > 0;) {
      if (j < s.committed) {
        Entry& e = cache_.at(key(s.salt, tokens, j));
        if (--e.users == 0) e.released_at = ++clock_;
      } else {
        private_ -= 1;
      }
    }
    s = Seq{};
  }

 private:
  struct Entry {
    int users = 0;
    uint64_t released_at = 0;
  };

  Key key(uint64_t salt, const std::vector<int32_t>& tokens, uint32_t j) const {
    Key k{static_cast<int32_t>(salt)};
    k.insert(k.end(), tokens.begin(), tokens.begin() + (j + 1) * B_);
    return k;
  }

  uint32_t in_use_entries() const {
    uint32_t n = 0;
    for (const auto& [k, e] : cache_) n += e.users > 0;
    return n;
  }

  // A fresh private block: a plain free one, else evict the entry released longest ago.
  void take_fresh() {
    if (free() == 0) {
      auto victim = cache_.end();
      for (auto it = cache_.begin(); it != cache_.end(); ++it)
        if (it->second.users == 0 && (victim == cache_.end() || it->second.released_at < victim->second.released_at))
          victim = it;
      cache_.erase(victim);
      evictions_ += 1;
    }
    private_ += 1;
  }

  uint32_t total_, B_;
  bool caching_;
  std::map<Key, Entry> cache_;
  uint32_t private_ = 0;  // blocks held by live sequences that are not cache entries
  uint64_t clock_ = 0;
  uint64_t evictions_ = 0, dedups_ = 0, query_tokens_ = 0, hit_tokens_ = 0;
};

}  // namespace lmrt::test
