// The random stream every lmrt engine samples with (header-only, C++ and CUDA).
//
// The uniform variate for the token at position p of a sequence with seed s is a
// pure function of (s, p): Philox-4x32-10 (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC'11; the generator cuRAND and PyTorch use) with
//   key     = (low 32 bits of s, high 32 bits of s)
//   counter = (low 32 bits of p, high 32 bits of p, 0, 0)
// and the first two output words made into a double in [0, 1) from 53 bits.
// Because no state is carried from step to step, a sequence draws the same
// numbers whatever it is batched with, however its prefill is chunked, and after
// preemption; a GPU engine that includes this header draws the very same stream.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define LMRT_RNG_HD __host__ __device__ __forceinline__
#else
#define LMRT_RNG_HD inline
#endif

namespace lmrt::rng {

struct Philox4x32 {
  uint32_t v[4];
};

// Philox-4x32 with 10 rounds over one counter block.
LMRT_RNG_HD Philox4x32 philox4x32_10(Philox4x32 ctr, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * ctr.v[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * ctr.v[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    ctr = Philox4x32{{hi1 ^ ctr.v[1] ^ key0, lo1, hi0 ^ ctr.v[3] ^ key1, lo0}};
    key0 += kW0;
    key1 += kW1;
  }
  return ctr;
}

// The four raw 32-bit words for (seed, position).
LMRT_RNG_HD Philox4x32 sampling_words(uint64_t seed, uint64_t position) {
  Philox4x32 ctr{{static_cast<uint32_t>(position), static_cast<uint32_t>(position >> 32), 0u, 0u}};
  return philox4x32_10(ctr, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// The uniform variate in [0, 1) (53 random bits) used to sample the token at `position`.
LMRT_RNG_HD double sampling_uniform(uint64_t seed, uint64_t position) {
  const Philox4x32 w = sampling_words(seed, position);
  const uint64_t bits = (static_cast<uint64_t>(w.v[0]) << 32) | w.v[1];
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0); /* 2^-53 */
}

}  // namespace lmrt::rng
