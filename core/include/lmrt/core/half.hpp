// Float conversions of tensors: the scalar ones live in the SDK (lmrt/cpp/half.hpp),
// these add dtype sizes and bulk conversion of (possibly unaligned) tensor data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "lmrt/abi.h"
#include "lmrt/cpp/half.hpp"

namespace lmrt {

// Bytes per element of a tensor dtype (0 for a value that is not an lmrt_dtype).
inline size_t dtype_size(lmrt_dtype dtype) noexcept {
  switch (dtype) {
    case LMRT_DTYPE_F32: case LMRT_DTYPE_I32: return 4;
    case LMRT_DTYPE_F16: case LMRT_DTYPE_BF16: return 2;
    case LMRT_DTYPE_I8: case LMRT_DTYPE_U8: return 1;
    case LMRT_DTYPE_I64: return 8;
  }
  return 0;
}

inline bool is_float_dtype(lmrt_dtype dtype) noexcept {
  return dtype == LMRT_DTYPE_F32 || dtype == LMRT_DTYPE_F16 || dtype == LMRT_DTYPE_BF16;
}

// Converts `count` elements of a float tensor (f32, f16 or bf16) to f32. `src`
// need not be aligned. Throws lmrt::Error(INVALID_ARGUMENT) for other dtypes.
void convert_to_f32(lmrt_dtype src_dtype, const void* src, size_t count, float* dst);
// Converts `count` f32 values to `dst_dtype` (f32, f16 or bf16), rounding to nearest even.
void convert_from_f32(const float* src, size_t count, lmrt_dtype dst_dtype, void* dst);

}  // namespace lmrt
