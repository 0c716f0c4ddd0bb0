// Writing safetensors files, single or sharded with a Hugging Face index
// (model.safetensors.index.json). Used by lmrt-make-tiny-model and by tools that
// produce checkpoints (the AWQ quantizer).
//
// Layout choices match the reference implementation: the JSON header is padded
// with spaces to a multiple of 8 bytes and tensors are stored by decreasing
// element size, so that every tensor starts at an offset aligned to its element
// size; "__metadata__" holds {"format": "pt"} plus what the caller adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lmrt/abi.h"

namespace lmrt {

class SafetensorsWriter {
 public:
  // Adds a tensor, copying `nbytes` bytes of `data`. Throws lmrt::Error
  // (INVALID_ARGUMENT) on a duplicate name or when nbytes != product(shape) * dtype size.
  void add(std::string name, lmrt_dtype dtype, std::vector<int64_t> shape, const void* data, uint64_t nbytes);
  // Adds a tensor without copying: `data` must stay valid until the last write call.
  void add_borrowed(std::string name, lmrt_dtype dtype, std::vector<int64_t> shape, const void* data, uint64_t nbytes);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  size_t size() const { return tensors_.size(); }
  uint64_t total_bytes() const;

  // Writes one file (through a temporary file renamed into place).
  void write(const std::filesystem::path& path) const;
  // Writes `num_shards` files <stem>-0000i-of-0000N.safetensors into `dir` plus
  // <stem>.safetensors.index.json, splitting tensors in insertion order into
  // shards of about equal size. num_shards == 1 still writes an index.
  void write_sharded(const std::filesystem::path& dir, int num_shards, const std::string& stem = "model") const;

 private:
  struct Entry {
    std::string name;
    lmrt_dtype dtype;
    std::vector<int64_t> shape;
    std::vector<std::byte> owned;  // empty when borrowed
    const std::byte* data;
    uint64_t nbytes;
  };
  void add_entry(Entry entry);
  void write_file(const std::filesystem::path& path, const std::vector<const Entry*>& entries) const;

  std::vector<Entry> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace lmrt
