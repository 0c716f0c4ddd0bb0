// Sums up the decode-step timeline (kernels/timeline.cuh; LMRT_TM_TIMELINE=1 in a build with the marks): for each
// kind of kernel, averaged over a step's launches of it and over the steps seen (per bucket), how long before their
// release its blocks were placed, the gap from the previous kernel's last block to its first released block (what
// the dependency costs), how long from that release to its last block's end, and how far apart its blocks ended;
// for attention, also where its last block's time went (the one that combines a split token) and its tiles'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "kernels/timeline.cuh"

namespace lmrt::tm {

class StepTimeline {
 public:
  // One replayed step's events, in any order.
  void add_step(const TimelineEvent* events, size_t count, uint32_t bucket);
  std::string report() const;  // empty when no step was added

 private:
  static constexpr int kKinds = 6;  // TimelineKind values
  struct Sums {
    uint64_t launches = 0, blocks = 0, gaps = 0;  // gaps: launches after another marked one
    double placed_ns = 0, gap_ns = 0, busy_ns = 0, spread_ns = 0, combine_ns = 0;
    // The last block's phases, over the launches whose last block marked them: from the launch's first release to
    // its own, to its first keys landed, to its chunks computed, to its partials counted, to its end.
    uint64_t phased = 0;
    double phase_ns[5] = {0, 0, 0, 0, 0};
    // The last block's tiles and what followed them (TimelineEvent::tile_cycles and tail_cycles, in ns at the
    // block's own clock rate), over the launches whose last block marked them.
    uint64_t tiled = 0, tiles = 0;
    double tile_ns[3] = {0, 0, 0}, tail_ns = 0;
  };
  struct Bucket {
    uint64_t steps = 0;
    double span_ns = 0, gaps_ns = 0;
    Sums kinds[kKinds];
  };
  std::map<uint32_t, Bucket> buckets_;
};

}  // namespace lmrt::tm
