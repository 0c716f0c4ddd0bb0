#include "sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "lmrt/cpp/sampling_rng.hpp"

namespace lmrt::cpu {
namespace {

// Candidates in order of decreasing value, ties by increasing id.
struct ByValueDesc {
  const float* v;
  bool operator()(int32_t a, int32_t b) const { return v[a] > v[b] || (v[a] == v[b] && a < b); }
};

}  // namespace

void sample_token(const float* logits, uint32_t vocab, const lmrt_sampling_params& p, uint64_t position,
                  lmrt_token_logprobs& out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();

  // log_softmax of the raw logits, for the reported logprobs.
  const float raw_max = *std::max_element(logits, logits + vocab);
  double sum = 0.0;
  for (uint32_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - raw_max);
  const double log_normalizer = raw_max + std::log(sum);

  std::vector<float> z(logits, logits + vocab);
  if (p.repetition_penalty != 1.f) {
    std::vector<bool> seen(vocab, false);
    for (uint32_t i = 0; i < p.num_penalty_tokens; ++i) {
      const int32_t t = p.penalty_tokens[i];
      if (seen[t]) continue;
      seen[t] = true;
      z[t] = z[t] > 0.f ? z[t] / p.repetition_penalty : z[t] * p.repetition_penalty;
    }
  }
  if (p.presence_penalty != 0.f || p.frequency_penalty != 0.f) {
    std::vector<uint32_t> count(vocab, 0);
    for (uint32_t i = p.num_penalty_tokens - p.num_generated; i < p.num_penalty_tokens; ++i) ++count[p.penalty_tokens[i]];
    for (uint32_t t = 0; t < vocab; ++t)
      if (count[t] > 0) z[t] -= p.presence_penalty + p.frequency_penalty * static_cast<float>(count[t]);
  }
  for (uint32_t i = 0; i < p.num_banned_tokens; ++i) z[p.banned_tokens[i]] = kNegInf;

  int32_t token = -1;
  if (p.temperature <= 0.f) {
    // Greedy: the first maximum, so ties go to the lowest id.
    token = static_cast<int32_t>(std::max_element(z.begin(), z.end()) - z.begin());
  } else {
    // Temperature is applied inside the exponent, in double, so that a tiny T cannot overflow to inf - inf.
    const double inv_temperature = 1.0 / static_cast<double>(p.temperature);
    std::vector<int32_t> cand;
    cand.reserve(vocab);
    for (uint32_t t = 0; t < vocab; ++t)
      if (z[t] != kNegInf) cand.push_back(static_cast<int32_t>(t));
    const bool top_k_on = p.top_k > 0 && static_cast<size_t>(p.top_k) < cand.size();
    const bool top_p_on = p.top_p < 1.f;
    if (top_k_on && !top_p_on) {
      std::partial_sort(cand.begin(), cand.begin() + p.top_k, cand.end(), ByValueDesc{z.data()});
      cand.resize(static_cast<size_t>(p.top_k));
    } else if (top_k_on || top_p_on) {
      std::sort(cand.begin(), cand.end(), ByValueDesc{z.data()});
      if (top_k_on) cand.resize(static_cast<size_t>(p.top_k));
    }
    // Probabilities of the candidates: softmax of z / T over them (renormalised after top-k).
    float z_max = kNegInf;
    for (int32_t t : cand) z_max = std::max(z_max, z[t]);
    std::vector<double> prob(cand.size());
    double total = 0.0;
    for (size_t i = 0; i < cand.size(); ++i) total += prob[i] = std::exp((static_cast<double>(z[cand[i]]) - z_max) * inv_temperature);
    if (top_p_on) {
      // Keep the shortest prefix (by decreasing probability) whose mass reaches top_p.
      double cumulative = 0.0;
      size_t keep = 0;
      while (keep < cand.size()) {
        cumulative += prob[keep++] / total;
        if (cumulative >= p.top_p) break;
      }
      cand.resize(keep);
      prob.resize(keep);
      total = std::accumulate(prob.begin(), prob.end(), 0.0);
    }
    if (p.min_p > 0.f) {
      // Keeps p >= min_p * p_max; the ratio does not depend on normalisation.
      const double p_max = *std::max_element(prob.begin(), prob.end());
      size_t kept = 0;
      for (size_t i = 0; i < cand.size(); ++i)
        if (prob[i] >= p.min_p * p_max) cand[kept] = cand[i], prob[kept] = prob[i], ++kept;
      cand.resize(kept);
      prob.resize(kept);
      total = std::accumulate(prob.begin(), prob.end(), 0.0);
    }
    // The draw walks the survivors in id order, whatever order the truncations sorted them in: near-equal
    // probabilities may sort either way under rounding, and the walk's order must not depend on that.
    if (top_k_on || top_p_on) {
      std::vector<size_t> order(cand.size());
      std::iota(order.begin(), order.end(), size_t{0});
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cand[a] < cand[b]; });
      std::vector<int32_t> by_id(cand.size());
      std::vector<double> prob_by_id(cand.size());
      for (size_t i = 0; i < order.size(); ++i) by_id[i] = cand[order[i]], prob_by_id[i] = prob[order[i]];
      cand.swap(by_id);
      prob.swap(prob_by_id);
    }
    const double target = lmrt::rng::sampling_uniform(p.seed, position) * total;
    double cumulative = 0.0;
    token = cand.back();
    for (size_t i = 0; i < cand.size(); ++i) {
      cumulative += prob[i];
      if (target < cumulative) {
        token = cand[i];
        break;
      }
    }
  }

  out.token = token;
  out.logprob = static_cast<float>(logits[token] - log_normalizer);
  const uint32_t num_top = std::min<uint32_t>(p.top_logprobs, vocab);
  out.num_top = num_top;
  if (num_top > 0) {
    std::vector<int32_t> ids(vocab);
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + num_top, ids.end(), ByValueDesc{logits});
    for (uint32_t i = 0; i < num_top; ++i) {
      out.top_tokens[i] = ids[i];
      out.top_logprobs[i] = static_cast<float>(logits[ids[i]] - log_normalizer);
    }
  }
}

}  // namespace lmrt::cpu
