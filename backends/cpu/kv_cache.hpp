// The paged KV pool: num_blocks blocks, each holding block_seq_len token slots of
// K and V for every layer and KV head, in fp32.
// Layout of one block: [layer][K|V][kv_head][slot][head_dim], so the keys of one
// head in one block are contiguous rows of head_dim floats.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace lmrt::cpu {

class KvCache {
 public:
  KvCache(uint32_t num_layers, uint32_t num_kv_heads, uint32_t head_dim, uint32_t block_seq_len, uint32_t num_blocks);

  static uint64_t block_bytes(uint32_t num_layers, uint32_t num_kv_heads, uint32_t head_dim, uint32_t block_seq_len) {
    return 2ull * num_layers * num_kv_heads * head_dim * block_seq_len * sizeof(float);
  }

  uint32_t num_blocks() const noexcept { return num_blocks_; }
  uint32_t block_seq_len() const noexcept { return block_seq_len_; }

  // Rows of head_dim floats for `slot` 0..block_seq_len-1 of (block, layer, head).
  float* keys(uint32_t block, uint32_t layer, uint32_t head) noexcept { return at(block, layer, 0, head); }
  float* values(uint32_t block, uint32_t layer, uint32_t head) noexcept { return at(block, layer, 1, head); }

 private:
  float* at(uint32_t block, uint32_t layer, uint32_t kv, uint32_t head) noexcept {
    const size_t index = ((static_cast<size_t>(block) * num_layers_ + layer) * 2 + kv) * num_kv_heads_ + head;
    return data_.get() + index * head_stride_;
  }

  uint32_t num_layers_, num_kv_heads_, head_dim_, block_seq_len_, num_blocks_;
  size_t head_stride_;  // block_seq_len * head_dim
  std::unique_ptr<float[]> data_;
};

}  // namespace lmrt::cpu
