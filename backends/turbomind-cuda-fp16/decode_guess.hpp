// Decode lookahead (LMRT_TM_LOOKAHEAD=1 or 2, on one GPU with CUDA graphs): when the core flags a step
// LMRT_STEP_NEXT_IS_DECODE (lmrt/engine.h), the engine launches its guess of the next step (the same sequences,
// each fed the token just sampled, replayed from the bucket's decode graph) before step returns, so that the GPU
// runs it while the host hands the tokens back and the core schedules. The next step takes the guess's results for
// each sequence whose input is exactly what the guess computed and runs the others itself.
//
// DecodeGuess is the host's record of one guess: which sequences it computed and with what input. No device state.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "kernels/sampling/sampling.hpp"
#include "lmrt/engine.h"

namespace lmrt::tm {

// One sequence of a guessed step: the input a later step must give it for the guess's result to be its result.
struct GuessedSeq {
  uint64_t seq_id = 0;
  int32_t token = -1;          // the input token: the one just sampled
  uint32_t pos = 0;            // its position
  std::vector<int32_t> table;  // the block table through pos's block
  SampleRow row{};             // how it samples (the row's position is pos + 1)
};

class DecodeGuess {
 public:
  // Whether the step's sequence `q` can be guessed one token further: it samples without penalties or banned
  // tokens, and its next position lies in a block its table already names (a guess may write nowhere else), below
  // `max_len` positions, within `table_cap` table entries.
  static bool guessable(const lmrt_step_seq& q, uint32_t block_seq_len, uint32_t table_cap, uint32_t max_len);
  // The guess of `q`'s next step (guessable() must hold), but for its token: the one `q` samples, set once known.
  static GuessedSeq next_of(const lmrt_step_seq& q, uint32_t block_seq_len);

  void start(std::vector<GuessedSeq> seqs);  // a guess is in flight
  void clear();
  bool pending() const { return pending_; }
  const std::vector<GuessedSeq>& seqs() const { return seqs_; }
  // The index in seqs() of the guessed sequence that the step's `q` is, input for input, or -1.
  int match(const lmrt_step_seq& q) const;

 private:
  bool pending_ = false;
  std::vector<GuessedSeq> seqs_;
  std::unordered_map<uint64_t, int> by_id_;
};

}  // namespace lmrt::tm
