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
# The headline pictures and HDF5 files: long sitting with tight (SLR 50) and normal (SLR 80) hamstrings.
xvfb-run -a "$BIN" posture models/lumbopelvic.yaml --posture long_sitting --set hamstrings.slr_deg=50 \
  --h5 out/long_sitting_slr50.h5 --png out/long_sitting_slr50.png > /dev/null
xvfb-run -a "$BIN" posture models/lumbopelvic.yaml --posture long_sitting --set hamstrings.slr_deg=80 \
  --h5 out/long_sitting_slr80.h5 --png out/long_sitting_slr80.png > /dev/null
echo "wrote out/*.json, out/long_sitting_slr{50,80}.h5 and .png"
