// RoPE (rotate-half pairing) fused with the q/k/v bias and the paged KV write.
#include "../common.cuh"
#include "../launch.cuh"
#include "rope_pair.cuh"

namespace lmrt::tm {
namespace {

__global__ void rope_table_kernel(const int32_t* token_pos, const int32_t* token_seq, const double* seq_base, int half,
                                  int head_dim, double linear_factor, float* cos_out, float* sin_out) {
  const int t = blockIdx.x;
  const double base = seq_base[token_seq[t]];
  const double pos = static_cast<double>(token_pos[t]) / linear_factor;
  griddep_enter();
  for (int i = threadIdx.x; i < half; i += blockDim.x) {
    const double inv_freq = 1.0 / pow(base, static_cast<double>(2 * i) / head_dim);
    const double angle = pos * inv_freq;
    cos_out[size_t(t) * half + i] = static_cast<float>(cos(angle));
    sin_out[size_t(t) * half + i] = static_cast<float>(sin(angle));
  }
}

// One thread per (token, head of q|k|v, pair i): elements i and i + half of the head (rope_pair.cuh). A token's
// pairs are spread over blockIdx.y blocks, so that a decode step's few tokens still run one round of loads per
// thread.
template <class T>
__global__ void rope_kv_write_kernel(T* qkv, const T* bias, const float* cos_t, const float* sin_t, int num_heads,
                                     TokenLayout tokens, KvLayout kv, int layer) {
  const int t = blockIdx.x;
  const int hd = kv.head_dim, half = hd / 2, kvh = kv.num_kv_heads;
  const int heads_total = num_heads + 2 * kvh;
  const int row = heads_total * hd;
  T* x = qkv + static_cast<size_t>(t) * row;
  int block, slot;
  kv_place(tokens, kv, t, block, slot);
  griddep_enter();
  for (int w = blockIdx.y * blockDim.x + threadIdx.x; w < heads_total * half; w += gridDim.y * blockDim.x) {
    const int h = w / half, i = w % half;
    const RopePairInputs in =
        rope_pair_inputs(bias, h, i, cos_t + size_t(t) * half, sin_t + size_t(t) * half, num_heads, kv);
    rope_store_pair<T>(to_f(x[h * hd + i]), to_f(x[h * hd + i + half]), in, h, i, x, num_heads, kv, layer, block, slot);
  }
}

}  // namespace

void launch_rope_table(const int32_t* token_pos, const int32_t* token_seq, const double* seq_base, int num_tokens,
                       int head_dim, double linear_factor, float* cos_out, float* sin_out, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  launch_kernel(rope_table_kernel, dim3(num_tokens), dim3(64), 0, stream, token_pos, token_seq, seq_base, head_dim / 2,
                head_dim, linear_factor, cos_out, sin_out);
}

void launch_rope_kv_write(DType dt, void* qkv, const void* bias, const float* cos_t, const float* sin_t, int num_tokens,
                          int num_heads, const TokenLayout& tokens, const KvLayout& kv, int layer, cudaStream_t stream) {
  if (num_tokens <= 0) return;
  const int work = (num_heads + 2 * kv.num_kv_heads) * kv.head_dim / 2;
  const int threads = work >= 256 ? 256 : ((work + 31) / 32) * 32;
  // Up to one pair per thread for short steps; long ones keep a block per token.
  const int per_token = num_tokens >= 64 ? 1 : (work + threads - 1) / threads;
  LMRT_DISPATCH_DTYPE(dt, T, launch_kernel(rope_kv_write_kernel<T>, dim3(num_tokens, per_token), dim3(threads), 0,
                                           stream, static_cast<T*>(qkv), static_cast<const T*>(bias), cos_t, sin_t,
                                           num_heads, tokens, kv, layer));
}

}  // namespace lmrt::tm
