#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job on the sample frames shipped in examples/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo "[demo] ./build/src/oceanplus-forward --mask-out build/demo-mask.png"
./build/src/oceanplus-forward --mask-out build/demo-mask.png "$@"
