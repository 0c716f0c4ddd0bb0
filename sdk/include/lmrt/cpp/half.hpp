// Scalar conversions between float32 and the 16-bit float formats of model
// checkpoints: IEEE binary16 (f16) and bfloat16 (bf16). Header-only, for the core
// and for plugins alike (plugins do not link liblmrt). Float-to-16-bit rounds to
// nearest, ties to even (what PyTorch's .half() / .bfloat16() do); NaN stays NaN
// (quiet), overflow becomes infinity; 16-bit-to-float is exact.
#pragma once

#include <cstdint>
#include <cstring>

namespace lmrt {

inline float bits_to_f32(uint32_t bits) noexcept {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline uint32_t f32_to_bits(float f) noexcept {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

inline float bf16_to_f32(uint16_t h) noexcept { return bits_to_f32(static_cast<uint32_t>(h) << 16); }

inline uint16_t f32_to_bf16(float f) noexcept {
  uint32_t x = f32_to_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);  // quiet NaN
  // Round to nearest even on the 16 dropped bits; a carry into the exponent is correct rounding.
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

inline float f16_to_f32(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return bits_to_f32(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp != 0) return bits_to_f32(sign | ((exp + 112u) << 23) | (mant << 13));
  if (mant == 0) return bits_to_f32(sign);  // signed zero
  // Subnormal: value = mant * 2^-24, exactly representable in f32.
  float v = static_cast<float>(mant) * bits_to_f32(0x33800000u);  // 2^-24
  return sign ? -v : v;
}

inline uint16_t f32_to_f16(float f) noexcept {
  const uint32_t x = f32_to_bits(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));  // NaN
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: infinity
  if (ax >= 0x38800000u) {  // normal f16 range (>= 2^-14)
    uint32_t r = ax - 0x38000000u;   // rebias exponent 127 -> 15
    r += 0xfffu + ((r >> 13) & 1u);  // round to nearest even on the 13 dropped bits
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  if (ax < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25): zero
  // Subnormal f16: shift the full significand right, rounding to nearest even.
  const uint32_t e = ax >> 23;
  const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126u - e;  // so that the result is in units of 2^-24
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u))) ++q;
  return static_cast<uint16_t>(sign | q);
}

}  // namespace lmrt
