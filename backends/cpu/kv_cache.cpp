#include "kv_cache.hpp"

namespace lmrt::cpu {

KvCache::KvCache(uint32_t num_layers, uint32_t num_kv_heads, uint32_t head_dim, uint32_t block_seq_len,
                 uint32_t num_blocks)
    : num_layers_(num_layers),
      num_kv_heads_(num_kv_heads),
      head_dim_(head_dim),
      block_seq_len_(block_seq_len),
      num_blocks_(num_blocks),
      head_stride_(static_cast<size_t>(block_seq_len) * head_dim) {
  // Not zero-filled: pages are committed as steps write them, and no slot is read before it is written.
  data_.reset(new float[block_bytes(num_layers, num_kv_heads, head_dim, block_seq_len) / sizeof(float) * num_blocks]);
}

}  // namespace lmrt::cpu
