#include "lmrt/core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "lmrt/core/error.hpp"
#include "lmrt/core/half.hpp"

namespace lmrt {
namespace {

using json = nlohmann::json;

[[noreturn]] void model_error(const std::filesystem::path& file, const std::string& what) {
  fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": " + what);
}

[[noreturn]] void tensor_error(const std::filesystem::path& file, const std::string& tensor, const std::string& what) {
  fail(LMRT_STATUS_MODEL_ERROR, file.string() + ": tensor '" + tensor + "': " + what);
}

// a * b, or nullopt on uint64 overflow.
std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return std::nullopt;
  return a * b;
}

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

SafetensorsTensor parse_entry(const std::filesystem::path& file, const std::string& name, const json& entry,
                              const std::byte* data_section, uint64_t data_size) {
  if (!entry.is_object()) tensor_error(file, name, "header entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) tensor_error(file, name, std::string("header entry has no \"") + key + "\"");

  const json& jdtype = entry["dtype"];
  if (!jdtype.is_string()) tensor_error(file, name, "\"dtype\" is not a string");
  const std::string dtype_name = jdtype.get<std::string>();
  const auto dtype = parse_safetensors_dtype(dtype_name);
  if (!dtype)
    tensor_error(file, name, "unsupported dtype " + dtype_name + " (supported: F32, F16, BF16, I32, I8, U8, I64)");

  SafetensorsTensor t;
  t.name = name;
  t.dtype = *dtype;
  const json& jshape = entry["shape"];
  if (!jshape.is_array()) tensor_error(file, name, "\"shape\" is not an array");
  uint64_t elements = 1;
  for (const json& d : jshape) {
    if (!d.is_number_unsigned()) tensor_error(file, name, "\"shape\" has an entry that is not a non-negative integer");
    const auto dim = d.get<uint64_t>();
    if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      tensor_error(file, name, "shape dimension too large");
    auto next = checked_mul(elements, dim);
    if (!next) tensor_error(file, name, "shape overflows");
    elements = *next;
    t.shape.push_back(static_cast<int64_t>(dim));
  }
  const auto expected_bytes = checked_mul(elements, dtype_size(t.dtype));
  if (!expected_bytes) tensor_error(file, name, "shape overflows");

  const json& joff = entry["data_offsets"];
  if (!joff.is_array() || joff.size() != 2 || !joff[0].is_number_unsigned() || !joff[1].is_number_unsigned())
    tensor_error(file, name, "\"data_offsets\" must be [begin, end] with non-negative integers");
  const auto begin = joff[0].get<uint64_t>();
  const auto end = joff[1].get<uint64_t>();
  if (begin > end)
    tensor_error(file, name, "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] has begin > end");
  if (end > data_size)
    tensor_error(file, name,
                 "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                     "] out of range: the data section has " + std::to_string(data_size) + " bytes");
  if (end - begin != *expected_bytes) {
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape[i]);
    shape += "]";
    tensor_error(file, name,
                 "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] span " +
                     std::to_string(end - begin) + " bytes but shape " + shape + " of " + dtype_name + " needs " +
                     std::to_string(*expected_bytes));
  }
  t.data = data_section + begin;
  t.nbytes = end - begin;
  return t;
}

}  // namespace

std::optional<lmrt_dtype> parse_safetensors_dtype(std::string_view name) {
  if (name == "F32") return LMRT_DTYPE_F32;
  if (name == "F16") return LMRT_DTYPE_F16;
  if (name == "BF16") return LMRT_DTYPE_BF16;
  if (name == "I32") return LMRT_DTYPE_I32;
  if (name == "I8") return LMRT_DTYPE_I8;
  if (name == "U8") return LMRT_DTYPE_U8;
  if (name == "I64") return LMRT_DTYPE_I64;
  return std::nullopt;
}

const char* safetensors_dtype_name(lmrt_dtype dtype) {
  switch (dtype) {
    case LMRT_DTYPE_F32: return "F32";
    case LMRT_DTYPE_F16: return "F16";
    case LMRT_DTYPE_BF16: return "BF16";
    case LMRT_DTYPE_I32: return "I32";
    case LMRT_DTYPE_I8: return "I8";
    case LMRT_DTYPE_U8: return "U8";
    case LMRT_DTYPE_I64: return "I64";
  }
  return "?";
}

uint64_t SafetensorsTensor::num_elements() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    fail(err == ENOENT ? LMRT_STATUS_NOT_FOUND : LMRT_STATUS_IO_ERROR,
         path.string() + ": cannot open safetensors file: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail(LMRT_STATUS_IO_ERROR, path.string() + ": cannot stat: " + std::strerror(err));
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    model_error(path, "truncated safetensors file: " + std::to_string(file_size) +
                          " bytes, less than the 8-byte header length");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) fail(LMRT_STATUS_IO_ERROR, path.string() + ": mmap failed: " + std::strerror(map_err));
  map_ = map;
  map_size_ = file_size;

  try {
    const auto* base = static_cast<const unsigned char*>(map_);
    const uint64_t header_len = read_u64_le(base);
    if (header_len > file_size - 8)
      model_error(path, "header length " + std::to_string(header_len) + " exceeds the file size (" +
                            std::to_string(file_size) + " bytes): truncated or not a safetensors file");
    json header;
    try {
      header = json::parse(reinterpret_cast<const char*>(base + 8), reinterpret_cast<const char*>(base + 8 + header_len));
    } catch (const json::exception& e) {
      model_error(path, std::string("bad JSON header: ") + e.what());
    }
    if (!header.is_object()) model_error(path, "bad JSON header: not a JSON object");
    const std::byte* data_section = reinterpret_cast<const std::byte*>(base + 8 + header_len);
    const uint64_t data_size = file_size - 8 - header_len;
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") continue;  // free-form strings; nothing lmrt needs
      tensors_.push_back(parse_entry(path, name, entry, data_section, data_size));
    }
    std::sort(tensors_.begin(), tensors_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  } catch (...) {
    ::munmap(map_, map_size_);
    map_ = nullptr;
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      tensors_(std::move(other.tensors_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    if (map_ != nullptr) ::munmap(map_, map_size_);
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    tensors_ = std::move(other.tensors_);
  }
  return *this;
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const SafetensorsTensor& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

const SafetensorsTensor& SafetensorsFile::at(std::string_view name) const {
  if (const auto* t = find(name)) return *t;
  fail(LMRT_STATUS_NOT_FOUND, path_.string() + ": no tensor '" + std::string(name) + "'");
}

// ------------------------------------------------------------------ checkpoint

namespace {
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
}  // namespace

bool SafetensorsCheckpoint::present(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / kSingleFile) || std::filesystem::exists(dir / kIndexFile);
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::filesystem::path& dir) : dir_(dir) {
  const auto index_path = dir / kIndexFile;
  if (!std::filesystem::exists(index_path)) {
    if (!std::filesystem::exists(dir / kSingleFile))
      fail(LMRT_STATUS_NOT_FOUND, dir.string() + ": no " + kSingleFile + " or " + kIndexFile + " in the model folder");
    files_.push_back(std::make_unique<SafetensorsFile>(dir / kSingleFile));
    for (const auto& t : files_.back()->tensors()) index_.emplace(t.name, Location{&t, files_.back().get()});
    return;
  }

  sharded_ = true;
  std::ifstream in(index_path);
  if (!in) fail(LMRT_STATUS_IO_ERROR, index_path.string() + ": cannot open");
  json index;
  try {
    index = json::parse(in);
  } catch (const json::exception& e) {
    model_error(index_path, std::string("bad JSON: ") + e.what());
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    model_error(index_path, "no \"weight_map\" object");

  std::map<std::string, const SafetensorsFile*> shards;  // shard file name -> opened file
  for (const auto& [tensor, shard_json] : index["weight_map"].items()) {
    if (!shard_json.is_string()) model_error(index_path, "weight_map entry '" + tensor + "' is not a file name");
    const auto shard = shard_json.get<std::string>();
    // A shard is a plain file name beside the index; refuse paths that leave the folder.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      model_error(index_path, "weight_map entry '" + tensor + "' names an invalid shard file '" + shard + "'");
    auto it = shards.find(shard);
    if (it == shards.end()) {
      const auto shard_path = dir / shard;
      if (!std::filesystem::exists(shard_path))
        fail(LMRT_STATUS_NOT_FOUND, index_path.string() + ": shard file '" + shard + "' (holding tensor '" + tensor +
                                        "') does not exist in " + dir.string());
      files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      it = shards.emplace(shard, files_.back().get()).first;
    }
    const SafetensorsTensor* t = it->second->find(tensor);
    if (t == nullptr)
      model_error(index_path, "weight_map puts tensor '" + tensor + "' in shard '" + shard + "', which does not hold it");
    index_.emplace(tensor, Location{t, it->second});
  }
}

const SafetensorsTensor* SafetensorsCheckpoint::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.tensor;
}

const SafetensorsFile* SafetensorsCheckpoint::file_of(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.file;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (const auto& [name, loc] : index_) out.push_back(name);
  return out;
}

}  // namespace lmrt
