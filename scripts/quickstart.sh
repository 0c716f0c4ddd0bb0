#!/usr/bin/env bash
# The main job in one command: install what is missing, build, and chat with the default model
# on the CPU. Extra arguments go to `lmrt chat` (for example another model folder).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build build -j "$(nproc)" --target lmrt_app lmrt-plugin-cpu lmrt-plugin-cli-chat
model=${1:-../shared/testdata/models/stories260k}
[ $# -gt 0 ] && shift
exec build/bin/lmrt chat "$model" --backend cpu --log-level warning "$@"
