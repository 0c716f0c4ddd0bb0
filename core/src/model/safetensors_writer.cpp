#include "lmrt/core/safetensors_writer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "lmrt/core/error.hpp"
#include "lmrt/core/half.hpp"
#include "lmrt/core/safetensors.hpp"

namespace lmrt {

using json = nlohmann::ordered_json;

void SafetensorsWriter::add_entry(Entry entry) {
  for (const auto& t : tensors_)
    if (t.name == entry.name) fail(LMRT_STATUS_INVALID_ARGUMENT, "safetensors writer: duplicate tensor '" + entry.name + "'");
  if (dtype_size(entry.dtype) == 0)
    fail(LMRT_STATUS_INVALID_ARGUMENT, "safetensors writer: tensor '" + entry.name + "' has an invalid dtype");
  uint64_t expected = dtype_size(entry.dtype);
  for (int64_t d : entry.shape) {
    if (d < 0) fail(LMRT_STATUS_INVALID_ARGUMENT, "safetensors writer: tensor '" + entry.name + "' has a negative dimension");
    expected *= static_cast<uint64_t>(d);
  }
  if (expected != entry.nbytes)
    fail(LMRT_STATUS_INVALID_ARGUMENT, "safetensors writer: tensor '" + entry.name + "' has " +
                                           std::to_string(entry.nbytes) + " bytes but its shape needs " +
                                           std::to_string(expected));
  tensors_.push_back(std::move(entry));
}

void SafetensorsWriter::add(std::string name, lmrt_dtype dtype, std::vector<int64_t> shape, const void* data,
                            uint64_t nbytes) {
  Entry e{std::move(name), dtype, std::move(shape), {}, nullptr, nbytes};
  e.owned.resize(nbytes);
  if (nbytes) std::memcpy(e.owned.data(), data, nbytes);
  add_entry(std::move(e));
  tensors_.back().data = tensors_.back().owned.data();  // after the move: vector buffers keep their address
}

void SafetensorsWriter::add_borrowed(std::string name, lmrt_dtype dtype, std::vector<int64_t> shape, const void* data,
                                     uint64_t nbytes) {
  add_entry(Entry{std::move(name), dtype, std::move(shape), {}, static_cast<const std::byte*>(data), nbytes});
}

uint64_t SafetensorsWriter::total_bytes() const {
  uint64_t n = 0;
  for (const auto& t : tensors_) n += t.nbytes;
  return n;
}

void SafetensorsWriter::write_file(const std::filesystem::path& path, const std::vector<const Entry*>& entries) const {
  // Larger elements first keeps every tensor aligned to its element size.
  std::vector<const Entry*> order = entries;
  std::stable_sort(order.begin(), order.end(),
                   [](const Entry* a, const Entry* b) { return dtype_size(a->dtype) > dtype_size(b->dtype); });
  json header = json::object();
  json meta = json::object();
  meta["format"] = "pt";
  for (const auto& [k, v] : metadata_) meta[k] = v;
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (const Entry* e : order) {
    header[e->name] = {{"dtype", safetensors_dtype_name(e->dtype)},
                       {"shape", e->shape},
                       {"data_offsets", {offset, offset + e->nbytes}}};
    offset += e->nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) fail(LMRT_STATUS_IO_ERROR, tmp + ": cannot create");
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(static_cast<uint64_t>(text.size()) >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const Entry* e : order) out.write(reinterpret_cast<const char*>(e->data), static_cast<std::streamsize>(e->nbytes));
    out.flush();
    if (!out) fail(LMRT_STATUS_IO_ERROR, tmp + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) fail(LMRT_STATUS_IO_ERROR, path.string() + ": cannot rename from " + tmp + ": " + ec.message());
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  std::vector<const Entry*> all;
  for (const auto& t : tensors_) all.push_back(&t);
  write_file(path, all);
}

void SafetensorsWriter::write_sharded(const std::filesystem::path& dir, int num_shards, const std::string& stem) const {
  if (num_shards < 1 || static_cast<size_t>(num_shards) > std::max<size_t>(tensors_.size(), 1))
    fail(LMRT_STATUS_INVALID_ARGUMENT, "safetensors writer: cannot split " + std::to_string(tensors_.size()) +
                                           " tensors into " + std::to_string(num_shards) + " shards");
  const uint64_t total = total_bytes();
  std::vector<std::vector<const Entry*>> shards(num_shards);
  // Greedy in insertion order: move to the next shard once this one has its share,
  // keeping enough tensors back so that no shard is empty.
  size_t shard = 0;
  uint64_t filled = 0;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const size_t remaining_tensors = tensors_.size() - i;
    const size_t remaining_shards = num_shards - shard - 1;
    if (!shards[shard].empty() && shard + 1 < shards.size() &&
        (filled >= total * (shard + 1) / num_shards || remaining_tensors <= remaining_shards))
      ++shard;
    shards[shard].push_back(&tensors_[i]);
    filled += tensors_[i].nbytes;
  }
  json weight_map = json::object();
  for (int s = 0; s < num_shards; ++s) {
    char name[256];
    std::snprintf(name, sizeof name, "%s-%05d-of-%05d.safetensors", stem.c_str(), s + 1, num_shards);
    write_file(dir / name, shards[s]);
    for (const Entry* e : shards[s]) weight_map[e->name] = name;
  }
  json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  const auto index_path = dir / (stem + ".safetensors.index.json");
  std::ofstream out(index_path, std::ios::trunc);
  out << index.dump(2) << "\n";
  if (!out) fail(LMRT_STATUS_IO_ERROR, index_path.string() + ": write failed");
}

}  // namespace lmrt
