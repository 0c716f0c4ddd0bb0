// Content hashes of full KV blocks for the prefix cache (block_manager.hpp).
//
// A full block j of a sequence is named by a hash chain over its tokens:
//   h_{-1} = root_hash(salt)
//   h_j    = chain_hash(h_{j-1}, hash_tokens(tokens[j*B, (j+1)*B)))
// so equal h_j means (up to a 64-bit collision) an equal salt and equal tokens in
// every position [0, (j+1)*B). The salt separates sequences whose KV differs for the
// same token ids (images spliced at placeholders, adapters).
//
// The mixing is wyhash-style: 64x64->128-bit multiplies folded to 64 bits, with a
// final avalanche. It is fast and well distributed but not cryptographic; the block
// manager never trusts a hash alone (it verifies tokens and the parent block on every
// hit), so a collision can cost a cache hit but never share wrong KV.
#pragma once

#include <cstdint>
#include <span>

namespace lmrt {

// Hash of a run of token ids (their values and their count).
uint64_t hash_tokens(std::span<const int32_t> tokens) noexcept;

// The hash of a block whose parent (the previous block, or the root) hashes to
// `parent` and whose own tokens hash to `tokens_hash`.
uint64_t chain_hash(uint64_t parent, uint64_t tokens_hash) noexcept;

// The start of a chain: the parent hash of a sequence's first block.
uint64_t root_hash(uint64_t salt) noexcept;

}  // namespace lmrt
