#!/usr/bin/env bash
# The one command that sets up, builds and passes every test (README.md; .ci/run calls it).
# CUDA plugins are compiled when nvcc is found (for sm_90a unless LMRT_CUDA_ARCHS says otherwise);
# their GPU tests run on a GPU machine through scripts/gpu-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
build_dir=${LMRT_BUILD_DIR:-build}
cmake --preset default -B "$build_dir" ${LMRT_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900
