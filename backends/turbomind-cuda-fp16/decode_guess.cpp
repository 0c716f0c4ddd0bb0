#include "decode_guess.hpp"

#include <algorithm>
#include <cstring>

#include "sample_row.hpp"

namespace lmrt::tm {

bool DecodeGuess::guessable(const lmrt_step_seq& q, uint32_t block_seq_len, uint32_t table_cap, uint32_t max_len) {
  if (q.sampling == nullptr || !plain_sampling(*q.sampling) || block_seq_len == 0) return false;
  const uint64_t next = uint64_t(q.start_pos) + q.num_tokens;
  const uint64_t block = next / block_seq_len;
  return block < q.num_blocks && block < table_cap && next < max_len;
}

GuessedSeq DecodeGuess::next_of(const lmrt_step_seq& q, uint32_t block_seq_len) {
  GuessedSeq g;
  g.seq_id = q.seq_id;
  g.pos = q.start_pos + q.num_tokens;
  g.table.assign(q.block_table, q.block_table + g.pos / block_seq_len + 1);
  g.row = sample_row(*q.sampling, uint64_t(g.pos) + 1);
  return g;
}

void DecodeGuess::start(std::vector<GuessedSeq> seqs) {
  seqs_ = std::move(seqs);
  by_id_.clear();
  for (size_t i = 0; i < seqs_.size(); ++i) by_id_[seqs_[i].seq_id] = static_cast<int>(i);
  pending_ = true;
}

void DecodeGuess::clear() {
  pending_ = false;
  seqs_.clear();
  by_id_.clear();
}

int DecodeGuess::match(const lmrt_step_seq& q) const {
  if (!pending_ || q.num_tokens != 1 || q.sampling == nullptr || !plain_sampling(*q.sampling)) return -1;
  const auto it = by_id_.find(q.seq_id);
  if (it == by_id_.end()) return -1;
  const GuessedSeq& g = seqs_[it->second];
  if (q.tokens[0] != g.token || q.start_pos != g.pos || q.num_blocks < g.table.size() ||
      !std::equal(g.table.begin(), g.table.end(), q.block_table))
    return -1;
  const SampleRow row = sample_row(*q.sampling, uint64_t(q.start_pos) + 1);
  return std::memcmp(&row, &g.row, sizeof row) == 0 ? it->second : -1;
}

}  // namespace lmrt::tm
