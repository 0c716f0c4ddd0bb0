// The in-process communicator of the cpu engine's simulated tensor-parallel ranks.
#include "local_communicator.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

using lmrt::cpu::LocalCommunicator;

template <class F>
void on_ranks(uint32_t n, F&& fn) {
  std::vector<std::thread> threads;
  for (uint32_t r = 0; r < n; ++r) threads.emplace_back([&, r] { fn(r); });
  for (auto& t : threads) t.join();
}

// Values of very different magnitudes, so that the order of the sum shows in the bits.
template <class T>
std::vector<T> partials(uint32_t rank, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed * 131 + rank);
  std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
  std::vector<T> v(count);
  for (auto& x : v) x = static_cast<T>(std::ldexp(mantissa(rng), static_cast<int>(rng() % 40) - 20));
  return v;
}

template <class T>
void check_sums(uint32_t n, size_t count, int rounds) {
  LocalCommunicator comm(n);
  std::vector<std::vector<T>> results(n);
  for (int round = 0; round < rounds; ++round) {
    on_ranks(n, [&](uint32_t r) {
      results[r] = partials<T>(r, count, round);
      if (r % 2 == 1) std::this_thread::yield();  // vary the timing
      comm.all_reduce_sum(r, results[r].data(), count);
    });
    std::vector<T> want = partials<T>(0, count, round);
    for (uint32_t r = 1; r < n; ++r) {
      const std::vector<T> p = partials<T>(r, count, round);
      for (size_t i = 0; i < count; ++i) want[i] += p[i];
    }
    for (uint32_t r = 0; r < n; ++r)
      ASSERT_EQ(std::memcmp(results[r].data(), want.data(), count * sizeof(T)), 0)
          << "tp " << n << ", rank " << r << ", round " << round << ": not the rank-order sum";
  }
}

TEST(LocalCommunicator, AllReduceIsTheRankOrderSumOnEveryRank) {
  for (uint32_t n = 1; n <= 8; ++n) {
    check_sums<float>(n, 1000, 20);
    check_sums<double>(n, 777, 5);
    check_sums<float>(n, 3, 5);  // fewer elements than ranks: some ranks reduce nothing
  }
}

TEST(LocalCommunicator, BarrierWaitsForEveryRank) {
  for (uint32_t n = 1; n <= 8; ++n) {
    LocalCommunicator comm(n);
    std::atomic<uint32_t> arrived{0};
    std::atomic<bool> early{false};
    on_ranks(n, [&](uint32_t) {
      for (int round = 1; round <= 50; ++round) {
        arrived.fetch_add(1);
        comm.barrier();
        if (arrived.load() < uint32_t(round) * n) early = true;
        comm.barrier();
      }
    });
    EXPECT_FALSE(early.load()) << "tp " << n << ": a rank left the barrier before all arrived";
  }
}

TEST(LocalCommunicator, AbortReleasesWaitingRanksAndResetRearms) {
  LocalCommunicator comm(3);
  std::atomic<int> failures{0};
  on_ranks(3, [&](uint32_t r) {
    if (r == 2) {
      comm.abort();  // rank 2 failed before its collective
      return;
    }
    std::vector<float> v(4, 1.f);
    try {
      comm.all_reduce_sum(r, v.data(), v.size());
    } catch (const std::runtime_error&) {
      failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 2);
  comm.reset();
  std::vector<std::vector<float>> v(3, std::vector<float>(4, 1.f));
  on_ranks(3, [&](uint32_t r) { comm.all_reduce_sum(r, v[r].data(), 4); });
  for (const auto& b : v) EXPECT_EQ(b, std::vector<float>(4, 3.f));
}

TEST(LocalCommunicator, RanksThatDisagreeOnTheBufferAllFail) {
  LocalCommunicator comm(2);
  std::atomic<int> failures{0};
  on_ranks(2, [&](uint32_t r) {
    std::vector<float> v(r == 0 ? 4 : 5, 1.f);
    try {
      comm.all_reduce_sum(r, v.data(), v.size());
    } catch (const std::invalid_argument&) {
      failures.fetch_add(1);
    }
  });
  EXPECT_EQ(failures.load(), 2);
  EXPECT_THROW(LocalCommunicator(0), std::invalid_argument);
}

}  // namespace
