// GPU sampling: kSamplingSlices blocks of 1024 threads per sampled row take its first pass (normalizer and
// argmax), then the row's last block samples it (sampling.hpp). Instead of sorting the vocabulary,
// the truncations work on thresholds: a binary search over the order-preserving 32-bit key of
// the (penalized) logit finds the boundary value, and ties at the boundary are taken in
// increasing id order, which is exactly the cpu engine's "decreasing value, ties by increasing
// id" order. The draw walks the survivors in id order, as the cpu engine does. Probabilities
// and masses are in double, as on the cpu.
#include "../common.cuh"
#include "../launch.cuh"
#include "lmrt/cpp/sampling_rng.hpp"
#include "sampling.hpp"

namespace lmrt::tm {
namespace {

constexpr int kThreads = 1024;

// Order-preserving map of a float to uint32 (larger float -> larger key).
__device__ __forceinline__ uint32_t fkey(float v) {
  const uint32_t u = __float_as_uint(v);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

struct Scratch {
  float f[32];
  double d[32];
  int i[32];
  unsigned long long u[32];
  int found;
};

__device__ __forceinline__ int block_sum_int(int v, Scratch& s) {
  return block_reduce(v, s.i, [](int a, int b) { return a + b; });
}
__device__ __forceinline__ double block_sum_double(double v, Scratch& s) {
  return block_reduce(v, s.d, [](double a, double b) { return a + b; });
}
__device__ __forceinline__ unsigned long long block_max_u64(unsigned long long v, Scratch& s) {
  return block_reduce(v, s.u, [](unsigned long long a, unsigned long long b) { return a > b ? a : b; });
}

// Exclusive prefix over threads (in thread order) of a per-thread value.
template <class V>
__device__ V block_exclusive_scan(V v, V* warp_totals) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  V inc = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    const V y = __shfl_up_sync(0xffffffffu, inc, o);
    if (lane >= o) inc += y;
  }
  __syncthreads();
  if (lane == 31) warp_totals[warp] = inc;
  __syncthreads();
  V before = 0;
  for (int w = 0; w < warp; ++w) before += warp_totals[w];
  return before + inc - v;
}

// The id of the n-th (0-based) element in id order for which pred(i) holds, or -1.
template <class Pred>
__device__ int find_nth(int vocab, int n, Pred pred, Scratch& s) {
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = min(vocab, int(threadIdx.x) * chunk), end = min(vocab, begin + chunk);
  int count = 0;
  for (int i = begin; i < end; ++i) count += pred(i) ? 1 : 0;
  if (threadIdx.x == 0) s.found = -1;
  const int before = block_exclusive_scan(count, s.i);
  if (n >= before && n < before + count) {
    int k = before;
    for (int i = begin; i < end; ++i)
      if (pred(i) && k++ == n) {
        s.found = i;
        break;
      }
  }
  __syncthreads();
  const int r = s.found;
  __syncthreads();
  return r;
}

// The largest key K in [lo, 0xffffffff] for which pred(K) holds; pred must be monotone (true
// below some key, false above) and pred(lo) true.
template <class Pred>
__device__ uint32_t search_key(uint32_t lo, Pred pred) {
  uint32_t hi = 0xffffffffu;
  while (lo < hi) {
    const uint32_t mid = lo + static_cast<uint32_t>((static_cast<uint64_t>(hi) - lo + 1) / 2);
    if (pred(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

__device__ __forceinline__ unsigned long long value_id_key(float v, int i) {
  return (static_cast<unsigned long long>(fkey(v)) << 32) | (0xffffffffu - uint32_t(i));
}
__device__ __forceinline__ int key_id(unsigned long long key) {
  return static_cast<int>(0xffffffffu - static_cast<uint32_t>(key & 0xffffffffu));
}

// grid (kSamplingSlices, rows): block (b, row) takes slice b of the row's vocabulary first (sampling.hpp).
__global__ void __launch_bounds__(kThreads) sampling_kernel(const float* logits, int V, const SampleRow* rows,
                                                            const PenaltyEntry* penalties, const int32_t* banned,
                                                            float* z_scratch, double* p_scratch,
                                                            SamplingSlice* slices, unsigned* counters,
                                                            SampleResult* results) {
  __shared__ Scratch s;
  __shared__ bool last;
  const int row = blockIdx.y, slice = blockIdx.x;
  const SampleRow r = rows[row];
  const float* L = logits + size_t(row) * V;
  griddep_enter();
  float* Z = z_scratch + size_t(row) * V;
  double* P = p_scratch + size_t(row) * V;
  const int tid = threadIdx.x;

  // This block's slice of the raw logits: max, best (value, id) key, then the sum of exp(L - max) (exp in fp32,
  // each term to an ulp, summed in fp64: a double exp per vocabulary entry costs more than the rest of a greedy
  // step's sampling).
  {
    const int per = (V + kSamplingSlices - 1) / kSamplingSlices;
    const int b0 = min(V, slice * per), b1 = min(V, b0 + per);
    float mx = -INFINITY;
    unsigned long long best = 0;
    for (int i = b0 + tid; i < b1; i += kThreads) {
      const float v = L[i];
      mx = fmaxf(mx, v);
      const unsigned long long k = value_id_key(v, i);
      best = k > best ? k : best;
    }
    mx = block_reduce(mx, s.f, [](float a, float b) { return fmaxf(a, b); });
    best = block_max_u64(best, s);
    double sum = 0.0;
    if (mx != -INFINITY)
      for (int i = b0 + tid; i < b1; i += kThreads) sum += static_cast<double>(expf(L[i] - mx));
    sum = block_sum_double(sum, s);
    if (tid == 0) slices[size_t(row) * kSamplingSlices + slice] = SamplingSlice{mx, sum, best};
  }
  // The row's last block to finish goes on with the whole row.
  __threadfence();
  __syncthreads();
  if (tid == 0) last = atomicAdd(&counters[row], 1u) == static_cast<unsigned>(kSamplingSlices - 1);
  __syncthreads();
  if (!last) return;
  __threadfence();
  if (tid == 0) counters[row] = 0;

  // log_softmax normalizer of the raw logits, and their argmax, from the slices in slice order.
  const SamplingSlice* sl = slices + size_t(row) * kSamplingSlices;
  float mx = -INFINITY;
  unsigned long long best_raw = 0;
  for (int j = 0; j < kSamplingSlices; ++j) {
    mx = fmaxf(mx, __ldcg(&sl[j].max));
    const unsigned long long b = __ldcg(&sl[j].best);
    best_raw = b > best_raw ? b : best_raw;
  }
  double sum = 0.0;
  for (int j = 0; j < kSamplingSlices; ++j) {
    const float m = __ldcg(&sl[j].max);
    if (m != -INFINITY) sum += __ldcg(&sl[j].sum) * exp(static_cast<double>(m) - static_cast<double>(mx));
  }
  const double log_normalizer = mx + log(sum);

  // Penalties (each distinct token by one thread, so no races) and bans, on a copy of the logits; without them
  // the logits are read as they are.
  const bool modified = r.penalty_count > 0 || r.banned_count > 0;
  if (modified) {
    for (int i = tid; i < V; i += kThreads) Z[i] = L[i];
    __syncthreads();
    for (int e = tid; e < r.penalty_count; e += kThreads) {
      const PenaltyEntry pe = penalties[r.penalty_offset + e];
      float z = Z[pe.token];
      if (r.repetition_penalty != 1.f)
        z = z > 0.f ? __fdiv_rn(z, r.repetition_penalty) : __fmul_rn(z, r.repetition_penalty);
      if ((r.presence_penalty != 0.f || r.frequency_penalty != 0.f) && pe.generated_count > 0) {
        const float count = static_cast<float>(pe.generated_count);
        z = __fsub_rn(z, __fadd_rn(r.presence_penalty, __fmul_rn(r.frequency_penalty, count)));
      }
      Z[pe.token] = z;
    }
    __syncthreads();
    for (int e = tid; e < r.banned_count; e += kThreads) Z[banned[r.banned_offset + e]] = -INFINITY;
    __syncthreads();
  }
  const float* Zr = modified ? Z : L;

  int token = -1;
  if (r.temperature <= 0.f) {
    unsigned long long best = best_raw;
    if (modified) {
      best = 0;
      for (int i = tid; i < V; i += kThreads) {
        const unsigned long long k = value_id_key(Zr[i], i);
        best = k > best ? k : best;
      }
      best = block_max_u64(best, s);
    }
    token = key_id(best);
  } else {
    const double inv_t = 1.0 / static_cast<double>(r.temperature);
    const uint32_t kNegInfKey = fkey(-INFINITY);
    float zmax = -INFINITY;
    int count = 0;
    for (int i = tid; i < V; i += kThreads) {
      zmax = fmaxf(zmax, Zr[i]);
      count += Zr[i] != -INFINITY;
    }
    zmax = block_reduce(zmax, s.f, [](float a, float b) { return fmaxf(a, b); });
    count = block_sum_int(count, s);
    const bool top_k_on = r.top_k > 0 && r.top_k < count;
    const bool top_p_on = r.top_p < 1.f;
    // The survivors so far: key > thr, or key == thr with id < tie_end (a prefix of the sorted order).
    uint32_t thr = kNegInfKey;
    int tie_end = 0;
    if (top_k_on) {
      const int k = r.top_k;
      thr = search_key(kNegInfKey + 1, [&](uint32_t K) {
        int c = 0;
        for (int i = tid; i < V; i += kThreads) c += fkey(Zr[i]) >= K;
        return block_sum_int(c, s) >= k;
      });
      int greater = 0;
      for (int i = tid; i < V; i += kThreads) greater += fkey(Zr[i]) > thr;
      greater = block_sum_int(greater, s);
      const uint32_t t0 = thr;
      tie_end = find_nth(V, k - greater - 1, [&](int i) { return fkey(Zr[i]) == t0; }, s) + 1;
    }
    double total = 0.0;
    for (int i = tid; i < V; i += kThreads) {
      const uint32_t key = fkey(Zr[i]);
      const bool member = key > thr || (key == thr && i < tie_end);
      const double p = member ? exp((static_cast<double>(Zr[i]) - zmax) * inv_t) : 0.0;
      P[i] = p;
      total += p;
    }
    total = block_sum_double(total, s);
    auto mass_ge = [&](uint32_t K) {
      double m = 0.0;
      for (int i = tid; i < V; i += kThreads) m += fkey(Zr[i]) >= K ? P[i] : 0.0;
      return block_sum_double(m, s);
    };
    if (top_p_on) {
      const double need = static_cast<double>(r.top_p) * total;
      const uint32_t kp = search_key(kNegInfKey + 1, [&](uint32_t K) { return mass_ge(K) >= need; });
      const double above = kp == 0xffffffffu ? 0.0 : mass_ge(kp + 1);
      int ties = 0;
      double p_tie = 0.0;
      for (int i = tid; i < V; i += kThreads)
        if (fkey(Zr[i]) == kp && P[i] > 0.0) ++ties, p_tie = P[i];
      ties = block_sum_int(ties, s);
      p_tie = block_reduce(p_tie, s.d, [](double a, double b) { return a > b ? a : b; });
      int take = p_tie > 0.0 ? static_cast<int>(ceil((need - above) / p_tie)) : ties;
      take = max(1, min(ties, take));
      const int end = find_nth(V, take - 1, [&](int i) { return fkey(Zr[i]) == kp && P[i] > 0.0; }, s) + 1;
      total = 0.0;
      for (int i = tid; i < V; i += kThreads) {
        const uint32_t key = fkey(Zr[i]);
        if (!(key > kp || (key == kp && i < end))) P[i] = 0.0;
        total += P[i];
      }
      total = block_sum_double(total, s);
    }
    if (r.min_p > 0.f) {
      // p_max is the top candidate's exp(0) = 1, so the cut is p >= min_p.
      total = 0.0;
      for (int i = tid; i < V; i += kThreads) {
        if (P[i] < static_cast<double>(r.min_p)) P[i] = 0.0;
        total += P[i];
      }
      total = block_sum_double(total, s);
    }
    const double target = lmrt::rng::sampling_uniform(r.seed, r.position) * total;
    // Walk the survivors in id order: each thread sums its chunk, an exclusive scan places the crossing.
    const int chunk = (V + kThreads - 1) / kThreads;
    const int begin = min(V, tid * chunk), end = min(V, begin + chunk);
    double mine = 0.0;
    int last = -1;
    for (int i = begin; i < end; ++i)
      if (P[i] > 0.0) mine += P[i], last = i;
    if (tid == 0) s.found = -1;
    const double before = block_exclusive_scan(mine, s.d);
    if (target >= before && target < before + mine) {
      double cum = before;
      for (int i = begin; i < end; ++i) {
        cum += P[i];
        if (P[i] > 0.0 && target < cum) {
          s.found = i;
          break;
        }
      }
      if (s.found < 0) s.found = last;
    }
    __syncthreads();
    token = s.found;
    __syncthreads();
    if (token < 0) {
      int lastk = block_reduce(last, s.i, [](int a, int b) { return a > b ? a : b; });
      token = lastk;
    }
  }

  // Top alternatives of the raw logits: repeated maxima below the previous (value desc, id asc).
  const int num_top = min(r.top_logprobs, min(kMaxTopLogprobs, V));
  unsigned long long prev = ~0ull;
  for (int k = 0; k < num_top; ++k) {
    unsigned long long best = 0;
    for (int i = tid; i < V; i += kThreads) {
      const unsigned long long key = value_id_key(L[i], i);
      if (key < prev && key > best) best = key;
    }
    best = block_max_u64(best, s);
    prev = best;
    if (tid == 0) {
      const int id = key_id(best);
      results[row].top_tokens[k] = id;
      results[row].top_logprobs[k] = static_cast<float>(static_cast<double>(L[id]) - log_normalizer);
    }
  }
  if (tid == 0) {
    results[row].token = token;
    results[row].logprob = static_cast<float>(static_cast<double>(L[token]) - log_normalizer);
    results[row].num_top = num_top;
  }
}

}  // namespace

void launch_sampling(const float* logits, int vocab, const SampleRow* rows, int num_rows, const PenaltyEntry* penalties,
                     const int32_t* banned, float* z_scratch, double* p_scratch, SamplingSlice* slices,
                     unsigned* counters, SampleResult* results, cudaStream_t stream) {
  if (num_rows <= 0) return;
  launch_kernel(sampling_kernel, dim3(kSamplingSlices, num_rows), dim3(kThreads), 0, stream, logits, vocab, rows,
                penalties, banned, z_scratch, p_scratch, slices, counters, results);
}

}  // namespace lmrt::tm
