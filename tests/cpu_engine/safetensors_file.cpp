#include "safetensors_file.hpp"

#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace cpu_test {

SafetensorsFile::SafetensorsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (bytes_.size() < 8) throw std::runtime_error(path + ": too short");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes_.data(), 8);  // little-endian u64
  if (header_len > bytes_.size() - 8) throw std::runtime_error(path + ": header length out of range");
  data_offset_ = 8 + header_len;
  const auto header = nlohmann::json::parse(bytes_.begin() + 8, bytes_.begin() + 8 + static_cast<long>(header_len));
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    SafetensorsTensor t;
    t.dtype = info.at("dtype").get<std::string>();
    t.shape = info.at("shape").get<std::vector<int64_t>>();
    const auto offsets = info.at("data_offsets").get<std::vector<uint64_t>>();
    t.begin = offsets.at(0);
    t.end = offsets.at(1);
    if (t.end < t.begin || t.end > bytes_.size() - data_offset_) throw std::runtime_error(path + ": bad offsets for " + name);
    tensors_[name] = t;
  }
}

}  // namespace cpu_test
