// The model tensors' dtypes this engine reads (lmrt/model.h views): F32, F16 and BF16.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lmrt/abi.h"

namespace lmrt::tm {

// Bytes per element; 0 for any other dtype.
inline size_t tensor_elem_size(uint32_t dtype) {
  switch (dtype) {
    case LMRT_DTYPE_F32: return 4;
    case LMRT_DTYPE_F16:
    case LMRT_DTYPE_BF16: return 2;
    default: return 0;
  }
}

}  // namespace lmrt::tm
