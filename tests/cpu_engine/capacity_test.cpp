// capacity() and allocate_cache() report and honour consistent numbers.
#include <cmath>
#include <fstream>
#include <sstream>

#include "test_util.hpp"

namespace cpu_test {
namespace {

uint64_t parameter_count(const ModelSpec& s) {
  const uint64_t H = s.hidden_size, I = s.intermediate_size, V = s.vocab_size;
  const uint64_t Q = uint64_t(s.num_heads) * s.head_dim, KV = uint64_t(s.num_kv_heads) * s.head_dim;
  const uint64_t per_layer = 2 * H + Q * H + 2 * KV * H + H * Q + 3 * I * H + (s.qkv_bias ? Q + 2 * KV : 0);
  return V * H * (s.tied_embeddings ? 1 : 2) + H + s.num_layers * per_layer;
}

uint64_t mem_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (in >> key >> kib) {
    if (key == "MemTotal:") return kib * 1024;
    in.ignore(1 << 10, '\n');
  }
  return 0;
}

TEST(Capacity, NumbersAreConsistentWithBlockBytes) {
  SKIP_WITHOUT_PLUGIN();
  ModelSpec spec;
  spec.num_layers = 3;
  spec.qkv_bias = true;
  spec.weight_dtype = LMRT_DTYPE_BF16;  // still fp32 on the device
  RandomModel model(spec);
  Result r;
  auto engine = Engine::create(model.desc(), "num_threads: 2", &r);
  ASSERT_TRUE(engine) << r.message;
  for (uint32_t B : {16u, 64u}) {
    for (float fraction : {1.0f, 0.5f, 0.01f}) {
      lmrt_capacity cap{};
      const Result cr = engine->capacity(capacity_query(B, fraction), &cap);
      ASSERT_TRUE(cr.ok()) << cr.message;
      const uint64_t block_bytes = 2ull * spec.num_layers * spec.num_kv_heads * spec.head_dim * B * 4;
      EXPECT_EQ(cap.block_bytes, block_bytes);
      EXPECT_EQ(cap.weight_bytes, parameter_count(spec) * 4);
      EXPECT_EQ(cap.total_bytes, mem_total_bytes());
      EXPECT_LE(cap.free_bytes, cap.total_bytes);
      EXPECT_GT(cap.free_bytes, 0u);
      const uint64_t by_memory = static_cast<uint64_t>(std::floor(double(cap.free_bytes) * fraction)) / block_bytes;
      // Capped at twice what the scheduler can use: max_batch_size 8 full sessions of 512 tokens.
      const uint64_t useful = 2ull * 8 * ((512 + B - 1) / B);
      EXPECT_EQ(cap.num_blocks, std::min(by_memory, useful)) << "B " << B << ", fraction " << fraction;
      EXPECT_LE(uint64_t(cap.num_blocks) * cap.block_bytes, uint64_t(double(cap.free_bytes) * fraction));
      EXPECT_NE(std::string(cap.device).find("cpu (2 threads)"), std::string::npos) << cap.device;
    }
  }
}

TEST(Capacity, AllocateCacheChecksItsArguments) {
  SKIP_WITHOUT_PLUGIN();
  RandomModel model{ModelSpec{}};
  Result r;
  auto engine = Engine::create(model.desc(), "", &r);
  ASSERT_TRUE(engine) << r.message;
  lmrt_capacity cap{};
  ASSERT_TRUE(engine->capacity(capacity_query(16, 0.5f), &cap).ok());
  EXPECT_EQ(engine->capacity(capacity_query(0, 0.5f), &cap).code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(engine->capacity(capacity_query(16, 0.f), &cap).code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(engine->capacity(capacity_query(16, 1.5f), &cap).code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(engine->capacity(capacity_query(16, NAN), &cap).code, LMRT_STATUS_INVALID_ARGUMENT);

  const Result mismatch = engine->allocate(4, 32);
  EXPECT_EQ(mismatch.code, LMRT_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(mismatch.message.find("block_seq_len"), std::string::npos) << mismatch.message;
  EXPECT_EQ(engine->allocate(0, 16).code, LMRT_STATUS_INVALID_ARGUMENT);
  // Far more than the machine has: a clear out-of-memory error, not a crash.
  const Result huge = engine->allocate(UINT32_MAX, 16);
  EXPECT_EQ(huge.code, LMRT_STATUS_OUT_OF_MEMORY) << huge.message;
  EXPECT_NE(huge.message.find("GiB"), std::string::npos) << huge.message;
  ASSERT_TRUE(engine->allocate(4, 16).ok());
  EXPECT_EQ(engine->allocate(4, 16).code, LMRT_STATUS_INVALID_ARGUMENT) << "the pool is allocated once";
}

}  // namespace
}  // namespace cpu_test
