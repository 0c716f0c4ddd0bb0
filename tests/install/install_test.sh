#!/usr/bin/env bash
# cmake --install into a temporary prefix, then: the installed lmrt finds its plugins,
# an out-of-tree plugin builds against the installed SDK (find_package(lmrt)) and the
# installed host loads it; the bundled model is installed and found; every plugin exports only its bootstrap
# symbol and liblmrt only the lmrt_* C API.
set -euo pipefail
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
lmrt="$work/prefix/bin/lmrt"

list=$("$lmrt" plugins list)
echo "$list" | grep -q "^cpu .*engine" || { echo "installed lmrt does not find the cpu plugin:"; echo "$list"; exit 1; }
echo "$list" | grep -q "^cli-chat .*frontend" || { echo "installed lmrt does not find cli-chat"; exit 1; }

# The bundled chat model is installed and found beside the installed binaries, and answers.
env_out=$(env -u LMRT_DEFAULT_MODEL "$lmrt" check_env)
echo "$env_out" | grep -q "^bundled model: $work/prefix/share/lmrt/models/lmrt-chat-tiny" ||
  { echo "installed lmrt does not find its bundled model:"; echo "$env_out" | grep bundled; exit 1; }
answer=$(env -u LMRT_DEFAULT_MODEL "$lmrt" generate --prompt 'What is 2 + 2?' --temperature 0 --max-new-tokens 16 --log-level error)
[ "$answer" = "2 + 2 = 4." ] || { echo "installed lmrt with its bundled model answered: $answer"; exit 1; }

cmake -S "$source_dir/sdk/examples/hello-frontend" -B "$work/example" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/example-configure.log"
cmake --build "$work/example" > "$work/example-build.log"
plugin=$(find "$work/example" -name 'liblmrt-hello.so' | head -1)
[ -n "$plugin" ] || { echo "the example plugin was not built"; exit 1; }
printf 'frontends:\n  hello:\n    greeting: out-of-tree\n' > "$work/hello.yaml"
out=$(LMRT_PLUGIN_PATH=$(dirname "$plugin") "$lmrt" run "$work/hello.yaml")
echo "$out" | grep -q "greeting: out-of-tree" || { echo "unexpected output: $out"; exit 1; }

for so in "$work"/prefix/lib/lmrt/plugins/*.so "$plugin"; do
  exported=$(nm -D --defined-only "$so" | awk '{print $3}' | sort -u | tr '\n' ' ')
  [ "$exported" = "lmrt_plugin_init " ] || { echo "$so exports more than lmrt_plugin_init: $exported"; exit 1; }
done
extra=$(nm -D --defined-only "$work/prefix/lib/liblmrt.so" | awk '{print $3}' | grep -v '^lmrt_' || true)
[ -z "$extra" ] || { echo "liblmrt.so exports non-API symbols: $extra"; exit 1; }
echo "install: ok (plugins and the bundled model found, example plugin built and run, exports clean)"
