// The process-wide switch of kernels/launch.cuh, and the registry of the timeline's instrumented units.
#include <atomic>
#include <vector>

#include "../kernels/kernels.hpp"
#include "launch.cuh"
#define LMRT_TM_TIMELINE_REGISTRY  // this unit has no marks of its own
#include "timeline.cuh"

namespace lmrt::tm {
namespace {
std::atomic<bool> g_pdl{false};
}

void set_programmatic_dependent_launch(bool on) { g_pdl.store(on, std::memory_order_relaxed); }
bool programmatic_dependent_launch() { return g_pdl.load(std::memory_order_relaxed); }

namespace {
std::vector<TimelineBinder>& timeline_binders() {
  static std::vector<TimelineBinder> binders;  // filled while the plugin's units initialise
  return binders;
}
}  // namespace

void register_timeline_binder(TimelineBinder binder) { timeline_binders().push_back(binder); }

bool bind_timeline(const Timeline& t) {
#if defined(LMRT_TM_TIMELINE)
  for (TimelineBinder bind : timeline_binders()) bind(t);
  return true;
#else
  (void)t;
  return false;
#endif
}

}  // namespace lmrt::tm
