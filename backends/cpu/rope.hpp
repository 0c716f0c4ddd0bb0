// Rotary position embedding in the rotate-half pairing (i, i + head_dim/2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "model_weights.hpp"

namespace lmrt::cpu {

// The RoPE base for a step whose sequence reaches total length `seq_len`
// (= start_pos + num_tokens). Only dynamic NTK depends on it, as Hugging Face's
// LlamaDynamicNTKScalingRotaryEmbedding does with max(position_ids) + 1:
//   base = theta * ((factor * L / original_max) - (factor - 1))^(dim / (dim - 2))  when L > original_max.
double rope_base(const ModelShape& shape, uint64_t seq_len);

// Fills cos/sin (head_dim/2 entries each) for one position. Angles and their
// cos/sin are computed in double and rounded to fp32 once.
void rope_angles(const ModelShape& shape, double base, uint64_t position, float* cos_out, float* sin_out);

// Rotates one head vector in place: (x_i, x_{i+h}) -> (x_i c - x_{i+h} s, x_{i+h} c + x_i s).
void rope_apply(float* x, const float* cos_v, const float* sin_v, size_t head_dim) noexcept;

}  // namespace lmrt::cpu
