// f16/bf16 <-> f32 conversions, against IEEE facts and independent references.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "lmrt/core/error.hpp"
#include "lmrt/core/half.hpp"

namespace {

using lmrt::bf16_to_f32;
using lmrt::f16_to_f32;
using lmrt::f32_to_bf16;
using lmrt::f32_to_f16;

TEST(Half, KnownF16Encodings) {
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);                 // largest finite
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -14)), 0x0400);    // smallest normal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);    // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);                     // overflow -> inf
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);                 // tie between 65504 and 65536 -> even (inf)
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(1e-9f), 0x0000);                    // underflow -> 0
  const uint16_t nan = f32_to_f16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(Half, F16RoundsToNearestEven) {
  const float ulp = std::ldexp(1.0f, -10);  // f16 spacing at 1.0
  EXPECT_EQ(f32_to_f16(1.0f + ulp / 2), 0x3c00);        // tie, 0x3c00 is even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * ulp / 2), 0x3c02);    // tie, 0x3c02 is even
  EXPECT_EQ(f32_to_f16(1.0f + ulp / 2 + ulp / 64), 0x3c01);  // just above the tie
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);       // tie between 0 and 2^-24 -> 0
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);       // tie between 1 and 2 (x 2^-24) -> 2
}

TEST(Half, EveryF16RoundTripsThroughF32) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_EQ(h & 0x7c00, 0x7c00u);
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << "f16 0x" << std::hex << h;
  }
  // Decoding against the definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals 2^-14 * m/1024.
  for (uint32_t h = 0; h < 0x7c00; h += 7) {
    const int e = static_cast<int>(h >> 10), m = static_cast<int>(h & 0x3ff);
    const double want = e == 0 ? std::ldexp(m / 1024.0, -14) : std::ldexp(1.0 + m / 1024.0, e - 15);
    ASSERT_EQ(f16_to_f32(static_cast<uint16_t>(h)), static_cast<float>(want)) << h;
  }
}

// Nearest-even rounding computed in double from the two bracketing candidates.
template <typename Decode>
uint16_t reference_round(float x, uint16_t truncated, Decode decode) {
  const double lo = decode(truncated), hi = decode(static_cast<uint16_t>(truncated + 1));
  const double d_lo = std::fabs(x - lo), d_hi = std::fabs(hi - x);
  if (d_lo < d_hi) return truncated;
  if (d_hi < d_lo) return static_cast<uint16_t>(truncated + 1);
  return (truncated & 1) ? static_cast<uint16_t>(truncated + 1) : truncated;
}

TEST(Half, RandomFloatsMatchReferenceRounding) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000000; ++i) {
    // Magnitudes inside the finite f16 range, both signs.
    const float x = std::ldexp(std::uniform_real_distribution<float>(1.0f, 2.0f)(rng),
                               std::uniform_int_distribution<int>(-26, 15)(rng)) *
                    ((rng() & 1) ? -1.0f : 1.0f);
    if (std::fabs(x) >= 65504.0f) continue;
    // Candidate below |x| by truncation: search from f16 of the truncated magnitude.
    uint16_t t = f32_to_f16(std::fabs(x));
    while (t > 0 && f16_to_f32(t) > std::fabs(x)) --t;
    while (f16_to_f32(static_cast<uint16_t>(t + 1)) <= std::fabs(x)) ++t;  // t = largest f16 <= |x|
    const uint16_t want = reference_round(std::fabs(x), t, f16_to_f32) | (x < 0 ? 0x8000 : 0);
    ASSERT_EQ(f32_to_f16(x), want) << "x=" << x;
  }
}

TEST(Half, Bf16) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low 16 bits must not become infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(lmrt::bits_to_f32(0x7f800001u)))));
  EXPECT_EQ(f32_to_bf16(lmrt::bits_to_f32(0x3f808000u)), 0x3f80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(lmrt::bits_to_f32(0x3f818000u)), 0x3f82);  // tie -> even
  EXPECT_EQ(f32_to_bf16(lmrt::bits_to_f32(0x3f808001u)), 0x3f81);
  std::mt19937 rng(99);
  for (int i = 0; i < 1000000; ++i) {
    const uint32_t bits = rng();
    const uint16_t t = static_cast<uint16_t>(bits >> 16);
    if ((t & 0x7f80) == 0x7f80 || (t & 0x7fff) == 0x7f7f) continue;  // inf/NaN, or the overflow edge
    const float x = lmrt::bits_to_f32(bits);
    const uint16_t mag = reference_round(std::fabs(x), t & 0x7fff, bf16_to_f32);
    ASSERT_EQ(f32_to_bf16(x), static_cast<uint16_t>(mag | (t & 0x8000))) << std::hex << bits;
  }
}

TEST(Half, BulkConversions) {
  const std::vector<float> v = {0.0f, 1.0f, -1.5f, 3.140625f, 1e-3f};
  std::vector<uint16_t> h(v.size());
  std::vector<float> back(v.size());
  lmrt::convert_from_f32(v.data(), v.size(), LMRT_DTYPE_F16, h.data());
  lmrt::convert_to_f32(LMRT_DTYPE_F16, h.data(), h.size(), back.data());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(back[i], f16_to_f32(f32_to_f16(v[i])));
  lmrt::convert_from_f32(v.data(), v.size(), LMRT_DTYPE_BF16, h.data());
  lmrt::convert_to_f32(LMRT_DTYPE_BF16, h.data(), h.size(), back.data());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(back[i], bf16_to_f32(f32_to_bf16(v[i])));
  EXPECT_THROW(lmrt::convert_to_f32(LMRT_DTYPE_I32, h.data(), 1, back.data()), lmrt::Error);
}

}  // namespace
