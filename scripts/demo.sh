#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: the tracker over the sample clip in examples/data/vtest
# (20 frames of OpenCV's vtest.avi), following the person at 638,238,48,84, with masks, a JSON-lines log and an
# annotated video in build/demo/. Extra arguments go to oceanplus-track (e.g. --model FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
model=(--model random-mss)
for a in "$@"; do [ "$a" = "--model" ] && model=(); done
if [ ${#model[@]} -gt 0 ]; then
  echo "[demo] no trained model ships yet: running random weights (the pipeline runs end to end; the masks mean nothing)."
  echo "[demo] give an OceanPlus checkpoint with: bash scripts/demo.sh --model OceanPlusMMS.pth"
fi
mkdir -p build/demo
set -x
./build/src/oceanplus-track --input examples/data/vtest --box 638,238,48,84 "${model[@]}" \
  --masks build/demo/masks --jsonl build/demo/track.jsonl --video-out build/demo/track.avi "$@"
