// Added and special tokens: matched in the input text as single tokens before the normal
// segmentation (leftmost match, longest first), like Hugging Face's AddedVocabulary.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lmrt {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;  // the match also swallows whitespace on its left
  bool rstrip = false;  // ... and on its right
};

class AddedVocabulary {
 public:
  // Adds or replaces the token with this id (a later entry renames an earlier one, as
  // tokenizer_config.json's added_tokens_decoder renames InternLM2's ids).
  void add(AddedToken token);

  const AddedToken* find(int32_t id) const;
  std::optional<int32_t> find(std::string_view content) const;
  bool empty() const { return by_id_.empty(); }
  int32_t max_id() const;  // -1 when empty

  // A piece of input: an added token (id >= 0) or plain text to segment normally.
  struct Segment {
    std::string_view text;
    int32_t id = -1;
    std::size_t offset = 0;  // byte offset of `text` in the input
  };
  std::vector<Segment> split(std::string_view text) const;

 private:
  std::unordered_map<int32_t, AddedToken> by_id_;
  std::unordered_map<std::string, int32_t> by_content_;
  // Candidates by first byte, longest content first.
  std::vector<std::vector<const AddedToken*>> by_first_byte_;
  void rebuild_index();
};

}  // namespace lmrt
