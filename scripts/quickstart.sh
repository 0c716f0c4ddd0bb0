#!/usr/bin/env bash
# The main job in one command: install what is missing, build, and chat with the bundled model
# (models/lmrt-chat-tiny, docs/chat-model.md) on the CPU. A first argument names another model folder;
# the rest go to `lmrt chat`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build build -j "$(nproc)" --target lmrt_app lmrt-plugin-cpu lmrt-plugin-cli-chat
if [ $# -gt 0 ]; then
  model=$1
  shift
  exec build/bin/lmrt chat "$model" --backend cpu --log-level warning "$@"
fi
exec build/bin/lmrt chat --backend cpu --log-level warning
