#include "tokenizer/added_vocabulary.hpp"

#include <algorithm>

namespace lmrt {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

}  // namespace

void AddedVocabulary::add(AddedToken token) {
  if (token.content.empty()) return;
  if (auto it = by_id_.find(token.id); it != by_id_.end()) by_content_.erase(it->second.content);
  by_content_[token.content] = token.id;
  by_id_[token.id] = std::move(token);
  rebuild_index();
}

void AddedVocabulary::rebuild_index() {
  by_first_byte_.assign(256, {});
  for (const auto& [content, id] : by_content_) {
    const AddedToken& t = by_id_.at(id);
    by_first_byte_[static_cast<unsigned char>(t.content[0])].push_back(&t);
  }
  for (auto& list : by_first_byte_) {
    std::sort(list.begin(), list.end(), [](const AddedToken* a, const AddedToken* b) {
      return a->content.size() != b->content.size() ? a->content.size() > b->content.size() : a->id < b->id;
    });
  }
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second;
}

std::optional<int32_t> AddedVocabulary::find(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

int32_t AddedVocabulary::max_id() const {
  int32_t m = -1;
  for (const auto& [id, t] : by_id_) m = std::max(m, id);
  return m;
}

std::vector<AddedVocabulary::Segment> AddedVocabulary::split(std::string_view text) const {
  std::vector<Segment> out;
  if (by_id_.empty()) {
    if (!text.empty()) out.push_back({text, -1, 0});
    return out;
  }
  std::size_t plain_start = 0;  // start of the current run of plain text
  std::size_t i = 0;
  while (i < text.size()) {
    const AddedToken* match = nullptr;
    for (const AddedToken* t : by_first_byte_[static_cast<unsigned char>(text[i])]) {
      if (text.compare(i, t->content.size(), t->content) == 0) {
        match = t;  // longest first
        break;
      }
    }
    if (!match) {
      ++i;
      continue;
    }
    std::size_t plain_end = i;
    if (match->lstrip) {
      while (plain_end > plain_start && is_space(text[plain_end - 1])) --plain_end;
    }
    if (plain_end > plain_start) out.push_back({text.substr(plain_start, plain_end - plain_start), -1, plain_start});
    out.push_back({text.substr(i, match->content.size()), match->id, i});
    i += match->content.size();
    if (match->rstrip) {
      while (i < text.size() && is_space(text[i])) ++i;
    }
    plain_start = i;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1, plain_start});
  return out;
}

}  // namespace lmrt
