// The BPE model of a tokenizer.json: vocabulary, ranked merges, unknown-token and byte
// fallback rules. Encodes one pre-tokenized word at a time, merging the lowest-ranked
// adjacent pair first (leftmost on ties) as Hugging Face `tokenizers` does, with a small
// cache of recent words.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace lmrt {

class BpeModel {
 public:
  struct Options {
    std::optional<std::string> unk_token;
    bool byte_fallback = false;  // unknown characters become <0xNN> tokens
    bool fuse_unk = false;       // consecutive unknowns become one unk
    bool ignore_merges = false;  // a word found whole in the vocabulary is one token
  };

  // Throws MODEL_ERROR when a merge names a piece missing from the vocabulary.
  BpeModel(std::unordered_map<std::string, int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, Options options);

  // Appends the ids of `word` (valid UTF-8) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> id(std::string_view piece) const;
  // The piece of `id`, or nullptr when the vocabulary has no such id.
  const std::string* piece(int32_t id) const;
  int32_t max_id() const { return static_cast<int32_t>(pieces_.size()) - 1; }

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> pieces_;  // by id ("" for holes)
  std::vector<bool> has_piece_;
  struct Merge {
    uint32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges_;  // (left id << 32 | right id) -> merge
  Options options_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];

  static constexpr std::size_t kCacheMaxWordBytes = 128;
  static constexpr std::size_t kCacheMaxEntries = 1 << 16;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace lmrt
