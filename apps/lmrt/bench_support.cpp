#include "bench_support.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "lmrt/core/error.hpp"

namespace lmrt::app {

std::vector<uint32_t> parse_positive_list(const std::string& s, const char* what, const char* flag) {
  std::vector<uint32_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v <= 0 || v > 0x7fffffffL) throw std::invalid_argument(item);
      out.push_back(static_cast<uint32_t>(v));
    } catch (const std::exception&) {
      throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(what) + ": " + flag +
                                                    " takes positive integers separated by commas, got '" + s + "'");
    }
  }
  if (out.empty()) throw Error(LMRT_STATUS_INVALID_ARGUMENT, std::string(what) + ": " + flag + " is empty");
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::min<double>(v.size() - 1, std::floor(p / 100.0 * (v.size() - 1) + 0.5)));
  return v[i];
}

DenseShape dense_shape(const std::string& dir) {
  DenseShape s;
  std::ifstream in(dir + "/config.json");
  if (!in) return s;
  auto c = nlohmann::json::parse(in, nullptr, false);
  if (c.is_discarded() || !c.is_object()) return s;
  auto num = [&](const char* k, double fallback) { return c.contains(k) && c[k].is_number() ? c[k].get<double>() : fallback; };
  const double H = num("hidden_size", 0), I = num("intermediate_size", 0), V = num("vocab_size", 0);
  const double L = num("num_hidden_layers", 0), NH = std::max(num("num_attention_heads", 1), 1.0);
  const double KVH = num("num_key_value_heads", NH), hd = num("head_dim", H / NH);
  // Tied or not, the vocabulary table a step streams whole is the LM head's (DenseShape::step_weight_bytes).
  const double per_layer = H * (NH * hd + 2 * KVH * hd) + NH * hd * H + 3 * H * I + 2 * H;
  s.hidden = H;
  s.layer_params = L * per_layer;
  s.lm_head_params = V * H;
  s.step_weight_bytes = 2 * (s.layer_params + H + s.lm_head_params);
  s.kv_bytes_per_token = 2 * 2 * L * KVH * hd;
  s.attention_width = L * NH * hd;
  return s;
}

uint64_t peak_rss_bytes() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) return 0;
  return static_cast<uint64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

uint64_t wait_tracking_kv_blocks(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                                 const std::function<bool()>& done, const Runtime& rt) {
  uint64_t peak = 0;
  while (!cv.wait_for(lock, std::chrono::milliseconds(20), done)) {
    lock.unlock();
    peak = std::max<uint64_t>(peak, rt.stats()["kv_blocks_used"].get<uint64_t>());
    lock.lock();
  }
  return peak;
}

}  // namespace lmrt::app
