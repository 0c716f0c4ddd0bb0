// The decode-step timeline's summary (step_timeline.hpp) on made-up marks whose gaps and spans are known.
// No GPU needed.
#include "step_timeline.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace lmrt::tm;

namespace {

// A launch of `blocks` blocks placed at `placed`, released at `release`, ending at release + busy - (blocks - 1 - b)
// (so the first ends blocks - 1 ns before the last), a split attention block's partials done 300 ns before its end,
// its first keys landed 1000 ns after its release and its chunks computed 500 ns before its end, its two tiles'
// phases 2000, 1000 and 1800 cycles in all at 2 cycles a ns, then 600 cycles to its chunks computed.
void launch(std::vector<TimelineEvent>& ev, TimelineKind kind, uint32_t layer, uint32_t blocks, uint64_t placed,
            uint64_t release, uint64_t busy) {
  for (uint32_t b = 0; b < blocks; ++b) {
    const uint64_t end = release + busy - (blocks - 1 - b);
    const bool attention = kind == TimelineKind::kAttention;
    TimelineEvent e{static_cast<uint32_t>(kind), layer, b, b, placed, release, attention ? end - 300 : end, end,
                    attention ? release + 1000 : 0, attention ? end - 500 : 0};
    if (attention) e.tiles = 2, e.cycles = static_cast<uint32_t>(2 * (end - placed)), e.tile_cycles[0] = 2000,
                   e.tile_cycles[1] = 1000, e.tile_cycles[2] = 1800, e.tail_cycles = 600;
    ev.push_back(e);
  }
}

// The row of `kind` in the report: its numbers after the name.
std::vector<double> row(const std::string& report, const std::string& name) {
  const size_t at = report.find("  " + name);
  EXPECT_NE(at, std::string::npos) << report;
  std::istringstream in(report.substr(at + 2 + name.size(), report.find('\n', at) - at - 2 - name.size()));
  std::vector<double> v;
  for (double x; in >> x;) v.push_back(x);
  return v;
}

}  // namespace

TEST(StepTimeline, GapsSpansAndSpreadsOfTheLaunches) {
  StepTimeline tl;
  EXPECT_EQ(tl.report(), "");
  for (int step = 0; step < 2; ++step) {
    std::vector<TimelineEvent> ev;
    const uint64_t t = 1000000 * (step + 1);
    // Two layers: QKV (4 blocks) -> attention (8) -> output (4), 2000 ns between a launch's last end and the next's
    // release; the second step's launches each take 1000 ns longer.
    uint64_t now = t;
    for (uint32_t layer = 0; layer < 2; ++layer) {
      const TimelineKind kinds[] = {TimelineKind::kQkv, TimelineKind::kAttention, TimelineKind::kOutput};
      const uint32_t blocks[] = {4, 8, 4};
      for (int k = 0; k < 3; ++k) {
        const uint64_t busy = 5000 + 1000 * step;
        launch(ev, kinds[k], layer, blocks[k], now - 1500, now, busy);
        now += busy + 2000;
      }
    }
    tl.add_step(ev.data(), ev.size(), 1);
  }
  const std::string r = tl.report();
  // Per step: 6 launches of 5000 (6000) ns and 5 gaps of 2000 ns, the first placed 1500 ns before its release.
  EXPECT_NE(r.find("timeline of 2 decode steps, bucket 1: 44.5 us a step from the first marked block to the last, "
                   "10.0 us of it between kernels"),
            std::string::npos)
      << r;
  // launches a step, blocks, placed before release, previous end -> release, release -> last end, ends spread,
  // last partial -> end (us)
  EXPECT_EQ(row(r, "QKV (+norm, RoPE)"), (std::vector<double>{2, 4, 1.5, 2, 5.5, 0, 0})) << r;
  EXPECT_EQ(row(r, "attention"), (std::vector<double>{2, 8, 1.5, 2, 5.5, 0.01, 0.3})) << r;
  EXPECT_EQ(row(r, "output"), (std::vector<double>{2, 4, 1.5, 2, 5.5, 0, 0})) << r;
  EXPECT_EQ(r.find("down"), std::string::npos) << "no launch, no row: " << r;
  // The last attention block's phases: its chunks took busy - 1500 ns, 3500 and 4500 over the two steps.
  EXPECT_NE(r.find("  attention, its last block (us): released 0.00 after the first, keys landed 1.00 later, chunks "
                   "computed 4.00 later, partials counted 0.20 later, ended 0.30 later\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("  attention, its last block's tiles (us a tile, 2.00 tiles a launch): landed 0.50, QK^T 0.25, "
                   "softmax and PV 0.45; then 0.30 us a launch to the chunks computed\n"),
            std::string::npos)
      << r;
  EXPECT_EQ(r.find("QKV (+norm, RoPE), its last block"), std::string::npos) << "no marks, no phases: " << r;
}
