#!/usr/bin/env bash
# The headline job, end to end: set-up (tools/bootstrap.sh), build, then the default model,
# its clinical tests, and predicted postures for normal and tight hamstrings. Reports go to out/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/bootstrap.sh"
cd "$ROOT"
BIN="build/${LUMBOSIM_PRESET:-default}/lumbosim"
mkdir -p out
"$BIN" model models/lumbopelvic.yaml --json > out/lumbopelvic_model.json
"$BIN" clinical models/lumbopelvic.yaml
for slr in 80 50; do
  for posture in standing sitting_relaxed long_sitting; do
    echo "== $posture, SLR $slr deg"
    "$BIN" posture models/lumbopelvic.yaml --posture "$posture" --set hamstrings.slr_deg="$slr" | head -2
    "$BIN" posture models/lumbopelvic.yaml --posture "$posture" --set hamstrings.slr_deg="$slr" --json \
      > "out/posture_${posture}_slr${slr}.json"
  done
done
echo "wrote out/*.json"
