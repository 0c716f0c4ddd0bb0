#include "lmrt/core/half.hpp"

#include <string>

#include "lmrt/core/error.hpp"

namespace lmrt {

void convert_to_f32(lmrt_dtype src_dtype, const void* src, size_t count, float* dst) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (src_dtype) {
    case LMRT_DTYPE_F32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case LMRT_DTYPE_F16:
    case LMRT_DTYPE_BF16:
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);  // memcpy: checkpoint data need not be aligned
        dst[i] = src_dtype == LMRT_DTYPE_F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    default:
      fail(LMRT_STATUS_INVALID_ARGUMENT,
           "convert_to_f32: dtype " + std::to_string(static_cast<int>(src_dtype)) + " is not a float dtype");
  }
}

void convert_from_f32(const float* src, size_t count, lmrt_dtype dst_dtype, void* dst) {
  auto* bytes = static_cast<unsigned char*>(dst);
  switch (dst_dtype) {
    case LMRT_DTYPE_F32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case LMRT_DTYPE_F16:
    case LMRT_DTYPE_BF16:
      for (size_t i = 0; i < count; ++i) {
        const uint16_t h = dst_dtype == LMRT_DTYPE_F16 ? f32_to_f16(src[i]) : f32_to_bf16(src[i]);
        std::memcpy(bytes + 2 * i, &h, 2);
      }
      return;
    default:
      fail(LMRT_STATUS_INVALID_ARGUMENT,
           "convert_from_f32: dtype " + std::to_string(static_cast<int>(dst_dtype)) + " is not a float dtype");
  }
}

}  // namespace lmrt
