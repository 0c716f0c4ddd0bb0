#include "tokenizer/bpe_model.hpp"

#include <cstdio>
#include <queue>

#include "lmrt/core/error.hpp"
#include "tokenizer/utf8.hpp"

namespace lmrt {
namespace {

uint64_t pair_key(int32_t a, int32_t b) { return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b); }

}  // namespace

BpeModel::BpeModel(std::unordered_map<std::string, int32_t> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges, Options options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  int32_t max = -1;
  for (const auto& [p, id] : vocab_) {
    if (id < 0) fail(LMRT_STATUS_MODEL_ERROR, "tokenizer.json: negative id for '" + p + "'");
    max = std::max(max, id);
  }
  pieces_.assign(static_cast<std::size_t>(max + 1), {});
  has_piece_.assign(static_cast<std::size_t>(max + 1), false);
  for (const auto& [p, id] : vocab_) {
    pieces_[id] = p;
    has_piece_[id] = true;
  }
  merges_.reserve(merges.size());
  for (std::size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    auto ia = id(a), ib = id(b), ic = id(a + b);
    if (!ia || !ib || !ic) {
      fail(LMRT_STATUS_MODEL_ERROR, "tokenizer.json: merge " + std::to_string(r) + " ('" + a + "', '" + b +
                                        "') uses a piece that is not in the vocabulary");
    }
    merges_.emplace(pair_key(*ia, *ib), Merge{static_cast<uint32_t>(r), *ic});  // first (lowest) rank wins
  }
  if (options_.unk_token) unk_id_ = id(*options_.unk_token);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = id(name).value_or(-1);
  }
}

std::optional<int32_t> BpeModel::id(std::string_view piece) const {
  auto it = vocab_.find(std::string(piece));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::piece(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(pieces_.size()) || !has_piece_[id]) return nullptr;
  return &pieces_[id];
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (auto whole = id(word)) {
      out.push_back(*whole);
      return;
    }
  }
  const bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(std::string(word)); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  const std::size_t start = out.size();
  merge_word(word, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheMaxEntries) cache_.clear();
    cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(start), out.end()));
  }
}

// Symbols in a doubly linked list; a heap of candidate pairs keyed (rank, position) gives
// the lowest-ranked, leftmost pair; stale candidates are skipped when popped.
void BpeModel::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  struct Symbol {
    int32_t id;
    int prev, next;
  };
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  bool last_was_unk = false;
  for (std::size_t i = 0; i < word.size();) {
    std::size_t n = utf8::sequence_length(word.substr(i));
    if (n == 0) n = 1;
    const std::string_view ch = word.substr(i, n);
    i += n;
    if (auto found = id(ch)) {
      sym.push_back({*found, 0, 0});
      last_was_unk = false;
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : ch) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : ch) sym.push_back({byte_ids_[static_cast<unsigned char>(c)], 0, 0});
        last_was_unk = false;
        continue;
      }
    }
    if (unk_id_) {
      if (!(options_.fuse_unk && last_was_unk)) sym.push_back({*unk_id_, 0, 0});
      last_was_unk = true;
    }
    // Without an unk token an unknown character is dropped, as Hugging Face does.
  }
  const int n = static_cast<int>(sym.size());
  for (int i = 0; i < n; ++i) {
    sym[i].prev = i - 1;
    sym[i].next = i + 1 < n ? i + 1 : -1;
  }

  struct Candidate {
    uint32_t rank;
    int pos;
    int32_t left, right;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  auto consider = [&](int pos) {
    if (pos < 0 || sym[pos].next < 0) return;
    auto it = merges_.find(pair_key(sym[pos].id, sym[sym[pos].next].id));
    if (it != merges_.end()) heap.push({it->second.rank, pos, sym[pos].id, sym[sym[pos].next].id});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<bool> dead(static_cast<std::size_t>(n), false);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int right = sym[c.pos].next;
    if (dead[c.pos] || right < 0 || sym[c.pos].id != c.left || sym[right].id != c.right) continue;
    sym[c.pos].id = merges_.at(pair_key(c.left, c.right)).result;
    dead[right] = true;
    sym[c.pos].next = sym[right].next;
    if (sym[right].next >= 0) sym[sym[right].next].prev = c.pos;
    consider(sym[c.pos].prev);
    consider(c.pos);
  }
  for (int i = n > 0 ? 0 : -1; i >= 0; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace lmrt
