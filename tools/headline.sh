#!/usr/bin/env bash
# The headline job, end to end: set-up (tools/bootstrap.sh), build, then run lumbosim on the
# default model. Results go to out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/bootstrap.sh"
cd "$ROOT"
BIN="build/${LUMBOSIM_PRESET:-default}/lumbosim"
mkdir -p out
"$BIN" model models/lumbopelvic.yaml
"$BIN" model models/lumbopelvic.yaml --json > out/lumbopelvic_model.json
echo "wrote out/lumbopelvic_model.json"
