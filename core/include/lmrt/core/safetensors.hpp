// Reading safetensors checkpoints (https://github.com/huggingface/safetensors):
// an 8-byte little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}
// then the data section; offsets are relative to its start.
//
// Files are mapped read-only (mmap, MAP_PRIVATE) and every header entry is
// validated before any pointer into the mapping is handed out: offsets inside
// the data section, end - begin == product(shape) * dtype size. Tensors may
// overlap (the format does not forbid it) but never leave the file. Errors are
// lmrt::Error(LMRT_STATUS_MODEL_ERROR, ...) naming the file and the tensor;
// a file that cannot be opened is LMRT_STATUS_IO_ERROR (NOT_FOUND if absent).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lmrt/abi.h"

namespace lmrt {

// Parses a safetensors dtype name; nullopt for names lmrt does not support
// (F64, BOOL, F8_*, I16, U16, ...).
std::optional<lmrt_dtype> parse_safetensors_dtype(std::string_view name);
// The safetensors name of a dtype: "F32", "F16", "BF16", "I32", "I8", "U8", "I64".
const char* safetensors_dtype_name(lmrt_dtype dtype);

// One tensor of a mapped file. `data` points into the mapping and lives as long
// as the SafetensorsFile; it is not necessarily aligned to the element size.
struct SafetensorsTensor {
  std::string name;
  lmrt_dtype dtype = LMRT_DTYPE_F32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;
  uint64_t nbytes = 0;
  uint64_t num_elements() const;
};

// One mapped .safetensors file. Move-only; the mapping is released on destruction.
class SafetensorsFile {
 public:
  // Maps and validates `path`; throws lmrt::Error on any problem.
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // All tensors, sorted by name.
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  // nullptr when absent.
  const SafetensorsTensor* find(std::string_view name) const;
  // Throws lmrt::Error(NOT_FOUND) naming the file and the tensor when absent.
  const SafetensorsTensor& at(std::string_view name) const;

 private:
  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::vector<SafetensorsTensor> tensors_;
};

// The weights of a model folder: a single `model.safetensors`, or the shards
// that `model.safetensors.index.json` lists in its "weight_map" (tensor name ->
// shard file). Every shard named by the index must exist and contain the
// tensors the index assigns to it.
class SafetensorsCheckpoint {
 public:
  explicit SafetensorsCheckpoint(const std::filesystem::path& dir);

  // True when `dir` holds model.safetensors or model.safetensors.index.json.
  static bool present(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  bool sharded() const { return sharded_; }
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  // nullptr when absent.
  const SafetensorsTensor* find(std::string_view name) const;
  // The file that holds tensor `name`; nullptr when absent.
  const SafetensorsFile* file_of(std::string_view name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;

 private:
  struct Location {
    const SafetensorsTensor* tensor;
    const SafetensorsFile* file;
  };
  std::filesystem::path dir_;
  bool sharded_ = false;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, Location, std::less<>> index_;
};

}  // namespace lmrt
