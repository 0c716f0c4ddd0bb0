#include "step_timeline.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace lmrt::tm {
namespace {

// One launch: the events of one kind and layer.
struct Launch {
  uint32_t kind = 0, layer = 0, blocks = 0;
  uint64_t first_start = UINT64_MAX, first_release = UINT64_MAX, first_end = UINT64_MAX, last_end = 0, last_done = 0;
  TimelineEvent last{};  // the block that ended last
};

const char* kind_name(int kind) {
  static const char* const names[] = {"other (LM head)", "QKV (+norm, RoPE)", "attention", "output", "gate/up (+norm)",
                                      "down"};
  return names[kind];
}

}  // namespace

void StepTimeline::add_step(const TimelineEvent* events, size_t count, uint32_t bucket) {
  if (count == 0) return;
  std::map<std::pair<uint32_t, uint32_t>, Launch> by_launch;
  uint64_t step_start = UINT64_MAX, step_end = 0;
  for (size_t i = 0; i < count; ++i) {
    const TimelineEvent& e = events[i];
    if (e.kind >= static_cast<uint32_t>(kKinds)) continue;
    Launch& l = by_launch[{e.kind, e.layer}];
    l.kind = e.kind, l.layer = e.layer, ++l.blocks;
    l.first_start = std::min(l.first_start, e.start);
    l.first_release = std::min(l.first_release, e.released);
    l.first_end = std::min(l.first_end, e.end);
    if (e.end >= l.last_end) l.last = e;
    l.last_end = std::max(l.last_end, e.end);
    l.last_done = std::max(l.last_done, e.done);
    step_start = std::min(step_start, e.start);
    step_end = std::max(step_end, e.end);
  }
  std::vector<Launch> order;
  for (const auto& [key, l] : by_launch) order.push_back(l);
  std::sort(order.begin(), order.end(), [](const Launch& a, const Launch& b) { return a.first_release < b.first_release; });
  Bucket& b = buckets_[bucket];
  ++b.steps;
  b.span_ns += static_cast<double>(step_end - step_start);
  for (size_t i = 0; i < order.size(); ++i) {
    const Launch& l = order[i];
    Sums& s = b.kinds[l.kind];
    ++s.launches;
    s.blocks += l.blocks;
    s.placed_ns += static_cast<double>(l.first_release - l.first_start);
    if (i > 0) {
      const double gap = static_cast<double>(l.first_release) - static_cast<double>(order[i - 1].last_end);
      s.gap_ns += gap, ++s.gaps;
      b.gaps_ns += gap;
    }
    s.busy_ns += static_cast<double>(l.last_end - l.first_release);
    s.spread_ns += static_cast<double>(l.last_end - l.first_end);
    s.combine_ns += static_cast<double>(l.last_end - l.last_done);
    const TimelineEvent& e = l.last;
    if (e.ready != 0 && e.computed != 0) {
      const uint64_t at[6] = {l.first_release, e.released, e.ready, e.computed, e.done, e.end};
      ++s.phased;
      for (int p = 0; p < 5; ++p) s.phase_ns[p] += static_cast<double>(at[p + 1]) - static_cast<double>(at[p]);
    }
    if (e.tiles != 0 && e.cycles != 0 && e.end > e.start) {
      const double ns_per_cycle = static_cast<double>(e.end - e.start) / e.cycles;
      ++s.tiled, s.tiles += e.tiles;
      for (int p = 0; p < 3; ++p) s.tile_ns[p] += e.tile_cycles[p] * ns_per_cycle;
      s.tail_ns += e.tail_cycles * ns_per_cycle;
    }
  }
}

std::string StepTimeline::report() const {
  std::string out;
  char line[256];
  for (const auto& [bucket, b] : buckets_) {
    std::snprintf(line, sizeof line,
                  "timeline of %llu decode steps, bucket %u: %.1f us a step from the first marked block to the last, "
                  "%.1f us of it between kernels\n",
                  static_cast<unsigned long long>(b.steps), bucket, b.span_ns / b.steps / 1e3, b.gaps_ns / b.steps / 1e3);
    out += line;
    out += "  kernel (us a launch)  launches/step  blocks  placed before release  previous end -> release  "
           "release -> last end  ends spread  last partial -> end\n";
    for (int k = 1; k <= kKinds; ++k) {
      const int kind = k % kKinds;  // the layer's kernels first, the LM head last
      const Sums& s = b.kinds[kind];
      if (s.launches == 0) continue;
      const double n = static_cast<double>(s.launches);
      std::snprintf(line, sizeof line, "  %-20s  %13.1f  %6.0f  %21.2f  %24.2f  %19.2f  %11.2f  %19.2f\n",
                    kind_name(kind), n / b.steps, s.blocks / n, s.placed_ns / n / 1e3,
                    s.gaps ? s.gap_ns / static_cast<double>(s.gaps) / 1e3 : 0.0,
                    s.busy_ns / n / 1e3, s.spread_ns / n / 1e3, s.combine_ns / n / 1e3);
      out += line;
    }
    for (int kind = 0; kind < kKinds; ++kind) {
      const Sums& s = b.kinds[kind];
      if (s.phased != 0) {
        const double n = static_cast<double>(s.phased) * 1e3;
        std::snprintf(line, sizeof line,
                      "  %s, its last block (us): released %.2f after the first, keys landed %.2f later, chunks "
                      "computed %.2f later, partials counted %.2f later, ended %.2f later\n",
                      kind_name(kind), s.phase_ns[0] / n, s.phase_ns[1] / n, s.phase_ns[2] / n, s.phase_ns[3] / n,
                      s.phase_ns[4] / n);
        out += line;
      }
      if (s.tiles != 0) {
        const double n = static_cast<double>(s.tiles) * 1e3;
        std::snprintf(line, sizeof line,
                      "  %s, its last block's tiles (us a tile, %.2f tiles a launch): landed %.2f, QK^T %.2f, "
                      "softmax and PV %.2f; then %.2f us a launch to the chunks computed\n",
                      kind_name(kind), static_cast<double>(s.tiles) / s.tiled, s.tile_ns[0] / n, s.tile_ns[1] / n,
                      s.tile_ns[2] / n, s.tail_ns / static_cast<double>(s.tiled) / 1e3);
        out += line;
      }
    }
  }
  return out;
}

}  // namespace lmrt::tm
