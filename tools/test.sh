#!/usr/bin/env bash
# The whole test suite: same set-up as tools/headline.sh (tools/bootstrap.sh), then ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/bootstrap.sh"
cd "$ROOT"
# VTK renders through X on Debian: the whole suite runs under a virtual display.
xvfb-run -a ctest --preset "${LUMBOSIM_PRESET:-default}" -j2 "$@"
