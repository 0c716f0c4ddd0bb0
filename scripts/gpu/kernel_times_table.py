#!/usr/bin/env python3
"""Reads an Nsight Compute CSV (scripts/gpu/kernel-times.sh) and prints one step: each kernel family's launches,
total time and DRAM traffic, then the step's sum. A step ends at the sampling kernel. The step is the last complete
decode step, or with `prefill` as the second argument the first step (the prompt's)."""
import csv
import re
import sys
from collections import OrderedDict


def family(name):
    n = re.sub(r"^void ", "", name).replace("(anonymous namespace)::", "").replace("<unnamed>::", "")
    n = re.sub(r"\(.*$", "", n)
    n = re.sub(r"<.*$", "", n)
    return n.split("::")[-1][:48]


def main():
    rows = []
    with open(sys.argv[1], newline="") as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        rows.append(r)
    kernels = OrderedDict()
    for r in rows:
        k = (r["ID"], r["Kernel Name"], r.get("Grid Size", ""), r.get("Block Size", ""))
        kernels.setdefault(k, {})[r["Metric Name"]] = float(r["Metric Value"].replace(",", "") or 0)
    items = [(k[1], k[2], k[3], v) for k, v in kernels.items()]
    ends = [i for i, it in enumerate(items) if "sampling" in it[0]]
    prefill = len(sys.argv) > 2 and sys.argv[2] == "prefill"
    if len(ends) < (1 if prefill else 2):
        print("  not enough steps in the profile")
        return
    step = items[: ends[0] + 1] if prefill else items[ends[-2] + 1: ends[-1] + 1]
    fam = OrderedDict()
    for name, grid, block, m in step:
        key = (family(name), grid)
        a = fam.setdefault(key, [0, 0.0, 0.0])
        a[0] += 1
        a[1] += m.get("gpu__time_duration.sum", 0) / 1e3
        a[2] += (m.get("dram__bytes_read.sum", 0) + m.get("dram__bytes_write.sum", 0)) / 1e6
    total_us = sum(a[1] for a in fam.values())
    total_mb = sum(a[2] for a in fam.values())
    print(f"  {'kernel':48} {'grid':>14} {'n':>4} {'us total':>9} {'us each':>8} {'MB':>8} {'GB/s':>6}")
    for (name, grid), (n, us, mb) in sorted(fam.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:48} {grid:>14} {n:4d} {us:9.1f} {us / n:8.2f} {mb:8.2f} {mb / us * 1e3 if us else 0:6.0f}")
    print(f"  {'step sum':48} {'':>14} {len(step):4d} {total_us:9.1f} {'':>8} {total_mb:8.1f} {total_mb / total_us * 1e3:6.0f}")


if __name__ == "__main__":
    main()
