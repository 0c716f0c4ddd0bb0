#include "local_communicator.hpp"

#include <stdexcept>
#include <string>

namespace lmrt::cpu {

LocalCommunicator::LocalCommunicator(uint32_t num_ranks)
    : num_ranks_(num_ranks), barrier_(num_ranks), slots_(num_ranks) {
  if (num_ranks == 0) throw std::invalid_argument("LocalCommunicator: num_ranks is 0");
}

void LocalCommunicator::barrier() {
  if (!barrier_.arrive_and_wait()) throw std::runtime_error("tensor-parallel collective aborted by another rank");
}

void LocalCommunicator::abort() { barrier_.abort(); }

void LocalCommunicator::reset() { barrier_.reset(); }

template <class T>
void LocalCommunicator::all_reduce(uint32_t rank, T* data, size_t count) {
  if (rank >= num_ranks_)
    throw std::out_of_range("all_reduce_sum: rank " + std::to_string(rank) + " of " + std::to_string(num_ranks_));
  if (num_ranks_ == 1) return;
  slots_[rank] = Slot{data, count, sizeof(T)};
  barrier();  // every buffer is published
  for (const Slot& s : slots_)
    if (s.count != count || s.element_size != sizeof(T)) {
      // Every rank sees the same slots, so all of them fail here, and none waits below.
      throw std::invalid_argument("all_reduce_sum: ranks disagree on the buffer (" + std::to_string(s.count) + " x " +
                                  std::to_string(s.element_size) + " bytes vs " + std::to_string(count) + " x " +
                                  std::to_string(sizeof(T)) + ")");
    }
  // Rank r reduces its own slice of the elements and writes the sum into every
  // buffer; no other rank reads or writes that slice, so no copy is needed.
  const size_t begin = count * rank / num_ranks_, end = count * (rank + 1) / num_ranks_;
  for (size_t i = begin; i < end; ++i) {
    T sum = static_cast<T*>(slots_[0].data)[i];
    for (uint32_t k = 1; k < num_ranks_; ++k) sum += static_cast<T*>(slots_[k].data)[i];
    for (uint32_t k = 0; k < num_ranks_; ++k) static_cast<T*>(slots_[k].data)[i] = sum;
  }
  barrier();  // every slice is written before any rank reuses its buffer
}

void LocalCommunicator::all_reduce_sum(uint32_t rank, float* data, size_t count) { all_reduce(rank, data, count); }
void LocalCommunicator::all_reduce_sum(uint32_t rank, double* data, size_t count) { all_reduce(rank, data, count); }

}  // namespace lmrt::cpu
