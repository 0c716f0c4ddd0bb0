#include "sampling_params.hpp"

#include <cmath>
#include <limits>

#include "api_error.hpp"

namespace lmrt::http {
namespace {

using nlohmann::json;

bool present(const json& body, const char* key) { return body.contains(key) && !body[key].is_null(); }

std::string fmt(double v) {
  json j = v;
  return j.dump();
}

std::vector<std::string> read_stop(const json& body) {
  std::vector<std::string> out;
  if (!present(body, "stop")) return out;
  const json& s = body["stop"];
  constexpr size_t kMaxStops = 16;
  if (s.is_string()) {
    out.push_back(s.get<std::string>());
  } else if (s.is_array()) {
    if (s.size() > kMaxStops)
      throw invalid_request("'stop' has " + std::to_string(s.size()) + " entries; at most 16 are allowed", "stop");
    for (const auto& e : s) {
      if (!e.is_string()) throw invalid_request("'stop' must be a string or a list of strings", "stop");
      out.push_back(e.get<std::string>());
    }
  } else {
    throw invalid_request("'stop' must be a string or a list of strings", "stop");
  }
  for (const auto& w : out)
    if (w.empty()) throw invalid_request("'stop' strings must not be empty", "stop");
  return out;
}

}  // namespace

bool read_bool(const json& body, const char* key, bool fallback) {
  if (!present(body, key)) return fallback;
  if (!body[key].is_boolean()) throw invalid_request(std::string("'") + key + "' must be a boolean", key);
  return body[key].get<bool>();
}

int64_t read_int(const json& body, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!present(body, key)) return fallback;
  const json& v = body[key];
  if (!v.is_number_integer())
    throw invalid_request(std::string("'") + key + "' must be an integer, got " + v.dump().substr(0, 40), key);
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw invalid_request(std::string("'") + key + "' is too large", key);
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw invalid_request(std::string("'") + key + "' must be between " + std::to_string(lo) + " and " +
                              std::to_string(hi) + ", got " + std::to_string(x),
                          key);
  return x;
}

double read_number(const json& body, const char* key, double fallback, double lo, double hi) {
  if (!present(body, key)) return fallback;
  const json& v = body[key];
  if (!v.is_number()) throw invalid_request(std::string("'") + key + "' must be a number", key);
  double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw invalid_request(std::string("'") + key + "' must be between " + fmt(lo) + " and " + fmt(hi) + ", got " +
                              fmt(x),
                          key);
  return x;
}

SamplingParams parse_sampling(const json& body, Dialect dialect, const lmrt_gen_config& defaults,
                              uint32_t session_len, const std::vector<std::string>& default_stop) {
  SamplingParams p;
  lmrt_gen_config& g = p.base;
  g = defaults;
  g.stop_words = nullptr;
  g.num_stop_words = 0;
  const int64_t max_len = session_len > 0 ? session_len : std::numeric_limits<int32_t>::max();

  // Token budget: the endpoint's names, newest first.
  const char* len_keys[] = {"max_completion_tokens", "max_tokens"};
  if (dialect == Dialect::interactive) len_keys[0] = len_keys[1] = "request_output_len";
  if (dialect == Dialect::generate) len_keys[0] = "max_new_tokens";
  for (const char* key : len_keys) {
    if (present(body, key)) {
      g.max_new_tokens = static_cast<uint32_t>(read_int(body, key, 0, 1, max_len));
      break;
    }
  }
  g.min_new_tokens = static_cast<uint32_t>(read_int(body, "min_tokens", g.min_new_tokens, 0, max_len));
  g.temperature = static_cast<float>(read_number(body, "temperature", g.temperature, 0.0, 2.0));
  g.top_p = static_cast<float>(read_number(body, "top_p", g.top_p, 0.0, 1.0));
  if (present(body, "top_p") && g.top_p <= 0.0f) throw invalid_request("'top_p' must be greater than 0", "top_p");
  // top_k: 0 and -1 both mean "off" (vLLM uses -1).
  g.top_k = static_cast<int32_t>(read_int(body, "top_k", g.top_k, -1, 1 << 20));
  if (g.top_k < 0) g.top_k = 0;
  g.min_p = static_cast<float>(read_number(body, "min_p", g.min_p, 0.0, 1.0));
  g.repetition_penalty =
      static_cast<float>(read_number(body, "repetition_penalty", g.repetition_penalty, 1e-6, 100.0));
  g.presence_penalty = static_cast<float>(read_number(body, "presence_penalty", g.presence_penalty, -2.0, 2.0));
  g.frequency_penalty = static_cast<float>(read_number(body, "frequency_penalty", g.frequency_penalty, -2.0, 2.0));
  if (present(body, "seed")) {
    int64_t seed = read_int(body, "seed", 0, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    g.seed = static_cast<uint64_t>(seed);
    g.has_seed = 1;
  }
  g.ignore_eos = read_bool(body, "ignore_eos", g.ignore_eos != 0) ? 1 : 0;
  g.skip_special_tokens = read_bool(body, "skip_special_tokens", g.skip_special_tokens != 0) ? 1 : 0;

  p.stop = default_stop;
  for (auto& w : read_stop(body)) p.stop.push_back(std::move(w));
  constexpr int64_t kMaxN = 16;
  p.n = static_cast<uint32_t>(read_int(body, "n", 1, 1, kMaxN));
  p.stream = read_bool(body, "stream", false);
  if (present(body, "stream_options")) {
    const json& so = body["stream_options"];
    if (!so.is_object()) throw invalid_request("'stream_options' must be an object", "stream_options");
    if (!p.stream) throw invalid_request("'stream_options' is only allowed when 'stream' is true", "stream_options");
    p.include_usage = read_bool(so, "include_usage", false);
  }

  switch (dialect) {
    case Dialect::chat:
      p.logprobs = read_bool(body, "logprobs", false);
      p.top_logprobs = static_cast<uint32_t>(read_int(body, "top_logprobs", 0, 0, LMRT_MAX_TOP_LOGPROBS));
      if (present(body, "top_logprobs") && !p.logprobs)
        throw invalid_request("'top_logprobs' requires 'logprobs' to be true", "top_logprobs");
      break;
    case Dialect::completion:
      // OpenAI's legacy field: the number of alternatives per token; present = log probabilities wanted.
      if (present(body, "logprobs")) {
        p.logprobs = true;
        p.top_logprobs = static_cast<uint32_t>(read_int(body, "logprobs", 0, 0, LMRT_MAX_TOP_LOGPROBS));
      }
      break;
    case Dialect::generate:
      p.logprobs = read_bool(body, "return_logprob", false);
      p.top_logprobs = static_cast<uint32_t>(read_int(body, "top_logprobs", 0, 0, LMRT_MAX_TOP_LOGPROBS));
      break;
    case Dialect::interactive: break;
  }
  g.logprobs = p.logprobs ? 1 : 0;
  g.top_logprobs = p.top_logprobs;
  return p;
}

lmrt_gen_config SamplingParams::config(uint32_t index, std::vector<lmrt_str>& stop_storage) const {
  lmrt_gen_config g = base;
  stop_storage.clear();
  for (const auto& s : stop) stop_storage.push_back(lmrt_str{s.data(), s.size()});
  g.stop_words = stop_storage.empty() ? nullptr : stop_storage.data();
  g.num_stop_words = static_cast<uint32_t>(stop_storage.size());
  if (g.has_seed) g.seed += index;
  return g;
}

}  // namespace lmrt::http
