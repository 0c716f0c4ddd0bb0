#include "random_model.hpp"

#include <cmath>
#include <cstring>
#include <random>

namespace cpu_test {

float decode_f16(uint16_t bits) {
  const int sign = (bits >> 15) ? -1 : 1;
  const int exponent = (bits >> 10) & 0x1f;
  const int mantissa = bits & 0x3ff;
  if (exponent == 0) return static_cast<float>(sign * std::ldexp(static_cast<double>(mantissa), -24));
  if (exponent == 31) return mantissa ? NAN : sign * INFINITY;
  return static_cast<float>(sign * std::ldexp(1.0 + mantissa / 1024.0, exponent - 15));
}

float decode_bf16(uint16_t bits) {
  // Same layout as fp32's top half: 1 sign, 8 exponent, 7 mantissa bits.
  const int sign = (bits >> 15) ? -1 : 1;
  const int exponent = (bits >> 7) & 0xff;
  const int mantissa = bits & 0x7f;
  if (exponent == 0) return static_cast<float>(sign * std::ldexp(static_cast<double>(mantissa), -133));
  if (exponent == 255) return mantissa ? NAN : sign * INFINITY;
  return static_cast<float>(sign * std::ldexp(1.0 + mantissa / 128.0, exponent - 127));
}

namespace {

// Encodes x as f16 by truncating the mantissa (values in the normal range or 0).
uint16_t encode_f16(float x) {
  if (x == 0.f || std::fabs(x) < 6.2e-5f) return 0;
  int e = 0;
  const double m = std::frexp(std::fabs(static_cast<double>(x)), &e);  // x = m * 2^e, m in [0.5, 1)
  const int exponent = e - 1 + 15;                                    // 1.f * 2^(e-1)
  const int mantissa = static_cast<int>((m * 2.0 - 1.0) * 1024.0);    // truncated
  return static_cast<uint16_t>((x < 0 ? 0x8000 : 0) | (exponent << 10) | mantissa);
}

uint16_t encode_bf16(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return static_cast<uint16_t>(b >> 16);  // truncated
}

}  // namespace

RandomModel::RandomModel(const ModelSpec& s) : spec_(s) {
  const int64_t V = s.vocab_size, H = s.hidden_size, I = s.intermediate_size;
  const int64_t Q = int64_t(s.num_heads) * s.head_dim, KV = int64_t(s.num_kv_heads) * s.head_dim;
  const double w = s.weight_scale;
  add("tok_embeddings", {V, H}, 1.0, 0.0);
  add("norm", {H}, 0.2, 1.0);
  if (!s.tied_embeddings) add("output", {V, H}, w / std::sqrt(double(H)), 0.0);
  for (uint32_t l = 0; l < s.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    add(p + "attention_norm", {H}, 0.2, 1.0);
    add(p + "attention.wq", {Q, H}, 2.0 * w / std::sqrt(double(H)), 0.0);
    add(p + "attention.wk", {KV, H}, 2.0 * w / std::sqrt(double(H)), 0.0);
    add(p + "attention.wv", {KV, H}, w / std::sqrt(double(H)), 0.0);
    if (s.qkv_bias) {
      add(p + "attention.bq", {Q}, 0.5, 0.0);
      add(p + "attention.bk", {KV}, 0.5, 0.0);
      add(p + "attention.bv", {KV}, 0.5, 0.0);
    }
    add(p + "attention.wo", {H, Q}, w / std::sqrt(double(Q)), 0.0);
    add(p + "ffn_norm", {H}, 0.2, 1.0);
    add(p + "feed_forward.w1", {I, H}, w / std::sqrt(double(H)), 0.0);
    add(p + "feed_forward.w3", {I, H}, w / std::sqrt(double(H)), 0.0);
    add(p + "feed_forward.w2", {H, I}, w / std::sqrt(double(I)), 0.0);
  }
  build_views();
}

void RandomModel::add(const std::string& name, std::vector<int64_t> shape, double scale, double offset) {
  std::mt19937_64 rng(spec_.seed * 1000003u + std::hash<std::string>{}(name));
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  TensorData t;
  t.shape = std::move(shape);
  t.dtype = spec_.weight_dtype;
  size_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<size_t>(d);
  t.values.resize(n);
  const size_t elem = t.dtype == LMRT_DTYPE_F32 ? 4 : 2;
  t.bytes.resize(n * elem);
  for (size_t i = 0; i < n; ++i) {
    const float x = static_cast<float>(offset + scale * uniform(rng));
    if (t.dtype == LMRT_DTYPE_F32) {
      t.values[i] = x;
      std::memcpy(&t.bytes[i * 4], &x, 4);
    } else {
      const uint16_t h = t.dtype == LMRT_DTYPE_F16 ? encode_f16(x) : encode_bf16(x);
      t.values[i] = t.dtype == LMRT_DTYPE_F16 ? decode_f16(h) : decode_bf16(h);
      std::memcpy(&t.bytes[i * 2], &h, 2);
    }
  }
  tensors_[name] = std::move(t);
}

void RandomModel::build_views() {
  views_.clear();
  for (auto& [name, t] : tensors_) {
    lmrt_tensor_view v{};
    v.struct_size = sizeof v;
    v.dtype = t.dtype;
    v.name = name.c_str();
    v.ndim = static_cast<uint32_t>(t.shape.size());
    for (size_t i = 0; i < t.shape.size(); ++i) v.shape[i] = t.shape[i];
    v.data = t.bytes.data();
    v.nbytes = t.bytes.size();
    views_.push_back(v);
  }
  if (spec_.tied_embeddings) {
    lmrt_tensor_view out = views_.front();
    for (const auto& v : views_)
      if (std::string(v.name) == "tok_embeddings") out = v;
    out.name = "output";
    views_.push_back(out);
  }
}

const lmrt_model_desc& RandomModel::desc() {
  const ModelSpec& s = spec_;
  desc_ = lmrt_model_desc{};
  desc_.struct_size = sizeof desc_;
  desc_.architecture = "llama";
  desc_.format = "hf";
  desc_.vocab_size = s.vocab_size;
  desc_.hidden_size = s.hidden_size;
  desc_.intermediate_size = s.intermediate_size;
  desc_.num_layers = s.num_layers;
  desc_.num_heads = s.num_heads;
  desc_.num_kv_heads = s.num_kv_heads;
  desc_.head_dim = s.head_dim;
  desc_.has_qkv_bias = s.qkv_bias ? 1 : 0;
  desc_.tie_word_embeddings = s.tied_embeddings ? 1 : 0;
  desc_.rope_scaling_type = s.rope_scaling_type;
  desc_.rms_norm_eps = s.rms_norm_eps;
  desc_.rope_theta = s.rope_theta;
  desc_.rope_scaling_factor = s.rope_scaling_factor;
  desc_.original_max_position_embeddings = s.original_max_position_embeddings;
  desc_.weight_dtype = s.weight_dtype;
  desc_.num_tensors = static_cast<uint32_t>(views_.size());
  desc_.tensors = views_.data();
  return desc_;
}

}  // namespace cpu_test
