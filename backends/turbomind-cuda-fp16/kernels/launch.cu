// The process-wide switch of kernels/launch.cuh.
#include <atomic>

#include "../kernels/kernels.hpp"
#include "launch.cuh"

namespace lmrt::tm {
namespace {
std::atomic<bool> g_pdl{false};
}

void set_programmatic_dependent_launch(bool on) { g_pdl.store(on, std::memory_order_relaxed); }
bool programmatic_dependent_launch() { return g_pdl.load(std::memory_order_relaxed); }

}  // namespace lmrt::tm
