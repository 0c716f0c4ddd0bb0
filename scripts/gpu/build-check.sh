#!/usr/bin/env bash
# Runs on the GPU machine: builds everything with CUDA (sm_90a) and runs the test suite and
# check_env there; logs go to $OUT. The short table at the end is what issue notes report.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/lmrt-gpu}
mkdir -p "$out"
start=$(date +%s)
cmake --preset gpu -DLMRT_BUILD_TESTS=ON > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
cmake --build build-gpu -j "$(nproc)" > "$out/build.log" 2>&1 || { grep -E "error|FAILED" -A5 "$out/build.log" | head -60; exit 1; }
build_s=$(( $(date +%s) - start ))
build-gpu/bin/lmrt check_env > "$out/check_env.log" 2>&1
ctest --test-dir build-gpu -j 8 --output-on-failure --timeout 600 > "$out/ctest.log" 2>&1
ctest_rc=$?
echo "== check_env"; cat "$out/check_env.log"
echo "== ctest (tail)"; tail -15 "$out/ctest.log"
echo "== summary"
printf "%-28s %s\n" "build (s)" "$build_s" "ctest exit" "$ctest_rc" \
  "tests" "$(grep -E 'tests passed' "$out/ctest.log" | tail -1)"
