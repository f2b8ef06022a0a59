#!/usr/bin/env bash
# Installs the Debian packages lumbosim needs (only those missing), then configures and builds
# it with the CMake preset $LUMBOSIM_PRESET (default: "default"). Idempotent: a second run only
# rebuilds what changed. Used by tools/headline.sh, tools/test.sh and .ci/run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PRESET="${LUMBOSIM_PRESET:-default}"

PKGS=(cmake ninja-build g++ ccache pkg-config
      libeigen3-dev libbullet-dev libyaml-cpp-dev libcli11-dev nlohmann-json3-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      libhdf5-dev libvtk9-dev xvfb xauth python3-h5py)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cd "$ROOT"
if [ ! -f "build/$PRESET/build.ninja" ]; then
  cmake --preset "$PRESET" >&2
fi
cmake --build --preset "$PRESET" >&2
