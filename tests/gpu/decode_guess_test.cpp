// The GPU engine's decode lookahead, host side (decode_guess.hpp): which sequences a guess may take one token
// further, and which of a later step's sequences its results serve. No GPU needed.
#include "decode_guess.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

using namespace lmrt::tm;

namespace {

constexpr uint32_t kBlock = 16, kCap = 8, kMaxLen = 128;

lmrt_sampling_params greedy() {
  lmrt_sampling_params p{};
  p.struct_size = sizeof p;
  p.temperature = 0.f;
  p.top_p = 1.f;
  p.repetition_penalty = 1.f;
  p.seed = 7;
  return p;
}

// A sequence's step: `n` tokens from `start`, a table of `blocks` blocks from `first`.
struct Seq {
  std::vector<int32_t> tokens, table;
  lmrt_sampling_params params = greedy();
  lmrt_step_seq q{};  // sampling: &params unless a test clears it
  Seq(uint64_t id, uint32_t start, uint32_t n, uint32_t blocks, int32_t first = 0) : tokens(n, 5), table(blocks) {
    std::iota(table.begin(), table.end(), first);
    q.struct_size = sizeof q;
    q.seq_id = id;
    q.start_pos = start;
    q.sampling = &params;
    aim();
  }
  Seq(const Seq& o) : tokens(o.tokens), table(o.table), params(o.params), q(o.q) { aim(); }
  // q's pointers at this object's own arrays (after a copy or an edit of them).
  void aim() {
    q.num_tokens = static_cast<uint32_t>(tokens.size());
    q.num_blocks = static_cast<uint32_t>(table.size());
    q.tokens = tokens.data();
    q.block_table = table.data();
    if (q.sampling) q.sampling = &params;
  }
  // The same sequence's next decode step, fed `token`.
  Seq next(int32_t token, uint32_t blocks) const {
    Seq s(q.seq_id, q.start_pos + q.num_tokens, 1, blocks, table[0]);
    s.tokens[0] = token;
    s.params = params;
    return s;
  }
};

}  // namespace

TEST(DecodeGuess, OnlyPlainSamplingWithTheNextPositionsBlockInTheTable) {
  const Seq prefill(1, 0, 10, 1);  // positions 0..9, next 10: block 0
  EXPECT_TRUE(DecodeGuess::guessable(prefill.q, kBlock, kCap, kMaxLen));
  const Seq full(1, 0, 16, 1);  // next position 16 is in block 1, which the table does not name yet
  EXPECT_FALSE(DecodeGuess::guessable(full.q, kBlock, kCap, kMaxLen));
  EXPECT_TRUE(DecodeGuess::guessable(Seq(1, 0, 16, 2).q, kBlock, kCap, kMaxLen));
  EXPECT_FALSE(DecodeGuess::guessable(Seq(1, 0, 10, 1).q, kBlock, kCap, 10));  // the session's end
  EXPECT_FALSE(DecodeGuess::guessable(Seq(1, 120, 8, 9).q, kBlock, kCap, 1024));  // past table_cap
  for (int k = 0; k < 4; ++k) {
    Seq s(1, 0, 10, 1);
    if (k == 0) s.params.repetition_penalty = 1.1f;
    if (k == 1) s.params.presence_penalty = 0.5f;
    if (k == 2) s.params.frequency_penalty = 0.5f;
    const int32_t banned = 2;
    if (k == 3) s.params.num_banned_tokens = 1, s.params.banned_tokens = &banned;
    EXPECT_FALSE(DecodeGuess::guessable(s.q, kBlock, kCap, kMaxLen)) << k;
  }
  Seq chunk(1, 0, 10, 1);
  chunk.q.sampling = nullptr;  // a prompt's non-final chunk samples nothing
  EXPECT_FALSE(DecodeGuess::guessable(chunk.q, kBlock, kCap, kMaxLen));
}

TEST(DecodeGuess, ALaterStepMatchesInputForInput) {
  const Seq a(1, 0, 10, 1, 0), b(2, 30, 1, 2, 4);
  DecodeGuess guess;
  EXPECT_EQ(guess.match(a.next(3, 1).q), -1);  // nothing pending
  std::vector<GuessedSeq> seqs{DecodeGuess::next_of(a.q, kBlock), DecodeGuess::next_of(b.q, kBlock)};
  seqs[0].token = 3, seqs[1].token = 9;  // what a and b sampled
  guess.start(seqs);
  ASSERT_TRUE(guess.pending());
  ASSERT_EQ(guess.seqs().size(), 2u);
  EXPECT_EQ(guess.seqs()[0].pos, 10u);
  EXPECT_EQ(guess.seqs()[0].row.position, 11u);  // the position its sampled token will take
  EXPECT_EQ(guess.seqs()[1].table, (std::vector<int32_t>{4, 5}));

  EXPECT_EQ(guess.match(b.next(9, 2).q), 1);
  EXPECT_EQ(guess.match(a.next(3, 1).q), 0);
  EXPECT_EQ(guess.match(a.next(3, 2).q), 0) << "a block appended past the guessed position changes nothing";
  EXPECT_EQ(guess.match(Seq(3, 10, 1, 1).q), -1) << "a sequence the guess did not compute";
  // a's next step, changed in one input at a time: none is what the guess computed.
  const std::pair<const char*, void (*)(Seq&)> changes[] = {
      {"another token", [](Seq& s) { s.tokens[0] = 4; }},
      {"another block", [](Seq& s) { s.table[0] = 7; }},
      {"another position", [](Seq& s) { s.q.start_pos = 11; }},
      {"other sampling", [](Seq& s) { s.params.temperature = 0.7f; }},
      {"another seed", [](Seq& s) { s.params.seed = 8; }},
      {"more logprobs", [](Seq& s) { s.params.top_logprobs = 5; }},
      {"a penalty", [](Seq& s) { s.params.repetition_penalty = 1.2f; }},
      {"more than one token", [](Seq& s) { s.tokens = {3, 3}; }},
      {"no sampling", [](Seq& s) { s.q.sampling = nullptr; }},
  };
  for (const auto& [what, change] : changes) {
    Seq s = a.next(3, 1);
    change(s);
    s.aim();
    EXPECT_EQ(guess.match(s.q), -1) << what;
  }

  guess.clear();
  EXPECT_FALSE(guess.pending());
  EXPECT_EQ(guess.match(a.next(3, 1).q), -1);
}
