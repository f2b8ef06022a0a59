#!/usr/bin/env bash
# The whole test suite: same set-up as tools/headline.sh (tools/bootstrap.sh), then ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/bootstrap.sh"
cd "$ROOT"
ctest --preset "${LUMBOSIM_PRESET:-default}" -j2 "$@"
