# Sourced by the GPU scripts: the repository root as the working directory, $out for logs ($OUT, else
# /tmp/lmrt-gpu), and the test data (../shared/testdata, else .deps/testdata linked there) in LMRT_TESTDATA_DIR.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out=${OUT:-/tmp/lmrt-gpu}
mkdir -p "$out"
if [ ! -d ../shared/testdata ] && [ -d .deps/testdata ]; then mkdir -p ../shared && ln -sfn "$PWD/.deps/testdata" ../shared/testdata; fi
export LMRT_TESTDATA_DIR=$(cd ../shared/testdata && pwd)
