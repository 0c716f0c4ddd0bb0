#include "lmrt/core/block_hash.hpp"

#include <cstring>

namespace lmrt {
namespace {

// wyhash's secret constants: odd, with balanced bits.
constexpr uint64_t kP0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kP2 = 0x8ebc6af09c88c6e3ULL;
constexpr uint64_t kP3 = 0x589965cc75374cc3ULL;

// 128-bit product of a and b, its halves xor-folded: every input bit reaches many
// output bits in one multiply.
inline uint64_t mum(uint64_t a, uint64_t b) noexcept {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

// Murmur3's finalizer: full avalanche of the last mix.
inline uint64_t fmix64(uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t pack(int32_t lo, int32_t hi) noexcept {
  return static_cast<uint64_t>(static_cast<uint32_t>(lo)) | (static_cast<uint64_t>(static_cast<uint32_t>(hi)) << 32);
}

}  // namespace

uint64_t hash_tokens(std::span<const int32_t> tokens) noexcept {
  const size_t n = tokens.size();
  uint64_t h = mum(kP0 ^ n, kP1);
  size_t i = 0;
  // 16 bytes (4 tokens) per multiply, chained through the state.
  for (; i + 4 <= n; i += 4) {
    const uint64_t a = pack(tokens[i], tokens[i + 1]);
    const uint64_t b = pack(tokens[i + 2], tokens[i + 3]);
    h = mum(a ^ kP1, b ^ h) ^ h;
  }
  int32_t tail[4] = {0, 0, 0, 0};
  for (size_t k = 0; i + k < n; ++k) tail[k] = tokens[i + k];
  h = mum(pack(tail[0], tail[1]) ^ kP2, pack(tail[2], tail[3]) ^ h) ^ h;
  return fmix64(h ^ (n * kP3));
}

uint64_t chain_hash(uint64_t parent, uint64_t tokens_hash) noexcept {
  return fmix64(mum(parent ^ kP0, tokens_hash ^ kP2) ^ parent ^ (tokens_hash * kP3));
}

uint64_t root_hash(uint64_t salt) noexcept { return fmix64(mum(salt ^ kP3, kP1) ^ salt); }

}  // namespace lmrt
