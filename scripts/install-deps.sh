#!/usr/bin/env bash
# Installs what lmrt needs to build and test on Debian 12 (bookworm), from Debian's
# packages. Run as root (or with sudo available). Idempotent and quiet when all is there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache git python3
  libyaml-cpp-dev libspdlog-dev libfmt-dev libboost-dev libboost-filesystem-dev
  libsentencepiece-dev sentencepiece libgtest-dev libgmock-dev nlohmann-json3-dev
  libcli11-dev libcpp-httplib-dev libstb-dev python3-jinja2 python3-pytest
  python3-venv python3-setuptools python3-wheel python3-yaml
)
# The web tests (tests/web): node + npm (playwright-core comes from npm) and Debian's
# Chromium. A node from elsewhere (NodeSource) bundles npm and conflicts with Debian's.
packages+=(nodejs chromium)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
