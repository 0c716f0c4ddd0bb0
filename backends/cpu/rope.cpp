#include "rope.hpp"

#include <cmath>

namespace lmrt::cpu {

double rope_base(const ModelShape& s, uint64_t seq_len) {
  const double theta = s.rope_theta;
  if (s.rope_scaling_type != LMRT_ROPE_SCALING_DYNAMIC || seq_len <= s.original_max_position_embeddings) return theta;
  const double factor = s.rope_scaling_factor;
  const double dim = s.head_dim;
  const double ratio = factor * static_cast<double>(seq_len) / s.original_max_position_embeddings - (factor - 1.0);
  return theta * std::pow(ratio, dim / (dim - 2.0));
}

void rope_angles(const ModelShape& s, double base, uint64_t position, float* cos_out, float* sin_out) {
  const size_t half = s.head_dim / 2;
  double pos = static_cast<double>(position);
  if (s.rope_scaling_type == LMRT_ROPE_SCALING_LINEAR) pos /= s.rope_scaling_factor;
  for (size_t i = 0; i < half; ++i) {
    const double inv_freq = 1.0 / std::pow(base, static_cast<double>(2 * i) / s.head_dim);
    const double angle = pos * inv_freq;
    cos_out[i] = static_cast<float>(std::cos(angle));
    sin_out[i] = static_cast<float>(std::sin(angle));
  }
}

void rope_apply(float* x, const float* cos_v, const float* sin_v, size_t head_dim) noexcept {
  const size_t half = head_dim / 2;
  for (size_t i = 0; i < half; ++i) {
    const float a = x[i], b = x[i + half];
    x[i] = a * cos_v[i] - b * sin_v[i];
    x[i + half] = b * cos_v[i] + a * sin_v[i];
  }
}

}  // namespace lmrt::cpu
