// A minimal safetensors reader for the tests (the core has the real loader; this
// one keeps the engine tests independent of it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cpu_test {

struct SafetensorsTensor {
  std::string dtype;  // "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within data()
};

class SafetensorsFile {
 public:
  // Throws std::runtime_error when the file cannot be read or parsed.
  explicit SafetensorsFile(const std::string& path);
  const std::map<std::string, SafetensorsTensor>& tensors() const { return tensors_; }
  const uint8_t* data() const { return bytes_.data() + data_offset_; }

 private:
  std::vector<uint8_t> bytes_;
  size_t data_offset_ = 0;
  std::map<std::string, SafetensorsTensor> tensors_;
};

}  // namespace cpu_test
