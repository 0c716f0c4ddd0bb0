#include "reference_forward.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace cpu_test {
namespace {

using Vec = std::vector<double>;

Vec rms_norm(const Vec& x, const std::vector<float>& w, double eps) {
  double ss = 0;
  for (double v : x) ss += v * v;
  const double inv = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * inv * w[i];
  return out;
}

// y = W x (+ b), W [rows, cols] row-major.
Vec linear(const std::vector<float>& W, const Vec& x, size_t rows, const std::vector<float>* bias = nullptr) {
  const size_t cols = x.size();
  Vec y(rows, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (size_t c = 0; c < cols; ++c) acc += static_cast<double>(W[r * cols + c]) * x[c];
    y[r] = acc + (bias ? (*bias)[r] : 0.0);
  }
  return y;
}

// HF apply_rotary_pos_emb: q * cos + rotate_half(q) * sin, rotate_half(q) = cat(-q2, q1).
void rotate(double* v, size_t dim, double position, double base) {
  const size_t half = dim / 2;
  for (size_t i = 0; i < half; ++i) {
    const double inv_freq = 1.0 / std::pow(base, (2.0 * i) / dim);
    const double c = std::cos(position * inv_freq), s = std::sin(position * inv_freq);
    const double a = v[i], b = v[i + half];
    v[i] = a * c - b * s;
    v[i + half] = b * c + a * s;
  }
}

}  // namespace

std::vector<double> log_softmax(const std::vector<double>& logits) {
  const double m = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (double v : logits) sum += std::exp(v - m);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = logits[i] - m - std::log(sum);
  return out;
}

std::vector<std::vector<double>> reference_logits(const RandomModel& model, const std::vector<int32_t>& tokens) {
  const ModelSpec& s = model.spec();
  const size_t T = tokens.size(), H = s.hidden_size, hd = s.head_dim;
  const size_t nh = s.num_heads, nkv = s.num_kv_heads, I = s.intermediate_size;

  double base = s.rope_theta;
  if (s.rope_scaling_type == LMRT_ROPE_SCALING_DYNAMIC && T > s.original_max_position_embeddings) {
    const double f = s.rope_scaling_factor;
    base = s.rope_theta * std::pow(f * T / s.original_max_position_embeddings - (f - 1), double(hd) / (hd - 2));
  }
  const double pos_scale = s.rope_scaling_type == LMRT_ROPE_SCALING_LINEAR ? 1.0 / s.rope_scaling_factor : 1.0;

  const auto& emb = model.values("tok_embeddings");
  std::vector<Vec> x(T, Vec(H));
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < H; ++i) x[t][i] = emb[size_t(tokens[t]) * H + i];

  for (uint32_t l = 0; l < s.num_layers; ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    const std::vector<float>* bq = s.qkv_bias ? &model.values(p + "attention.bq") : nullptr;
    const std::vector<float>* bk = s.qkv_bias ? &model.values(p + "attention.bk") : nullptr;
    const std::vector<float>* bv = s.qkv_bias ? &model.values(p + "attention.bv") : nullptr;
    std::vector<Vec> q(T), k(T), v(T);
    for (size_t t = 0; t < T; ++t) {
      const Vec xn = rms_norm(x[t], model.values(p + "attention_norm"), s.rms_norm_eps);
      q[t] = linear(model.values(p + "attention.wq"), xn, nh * hd, bq);
      k[t] = linear(model.values(p + "attention.wk"), xn, nkv * hd, bk);
      v[t] = linear(model.values(p + "attention.wv"), xn, nkv * hd, bv);
      for (size_t h = 0; h < nh; ++h) rotate(&q[t][h * hd], hd, t * pos_scale, base);
      for (size_t h = 0; h < nkv; ++h) rotate(&k[t][h * hd], hd, t * pos_scale, base);
    }
    for (size_t t = 0; t < T; ++t) {
      Vec attn(nh * hd, 0.0);
      for (size_t h = 0; h < nh; ++h) {
        const size_t g = h / (nh / nkv);  // repeat_kv
        Vec scores(t + 1);
        for (size_t j = 0; j <= t; ++j) {
          double d = 0;
          for (size_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[j][g * hd + i];
          scores[j] = d / std::sqrt(double(hd));
        }
        const Vec w = log_softmax(scores);
        for (size_t j = 0; j <= t; ++j)
          for (size_t i = 0; i < hd; ++i) attn[h * hd + i] += std::exp(w[j]) * v[j][g * hd + i];
      }
      const Vec o = linear(model.values(p + "attention.wo"), attn, H);
      for (size_t i = 0; i < H; ++i) x[t][i] += o[i];
      const Vec xn = rms_norm(x[t], model.values(p + "ffn_norm"), s.rms_norm_eps);
      const Vec gate = linear(model.values(p + "feed_forward.w1"), xn, I);
      const Vec up = linear(model.values(p + "feed_forward.w3"), xn, I);
      Vec act(I);
      for (size_t i = 0; i < I; ++i) act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const Vec down = linear(model.values(p + "feed_forward.w2"), act, H);
      for (size_t i = 0; i < H; ++i) x[t][i] += down[i];
    }
  }
  const auto& out_w = model.has("output") ? model.values("output") : model.values("tok_embeddings");
  std::vector<Vec> logits(T);
  for (size_t t = 0; t < T; ++t) logits[t] = linear(out_w, rms_norm(x[t], model.values("norm"), s.rms_norm_eps), s.vocab_size);
  return logits;
}

}  // namespace cpu_test
