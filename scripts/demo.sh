#!/usr/bin/env bash
# Installs what is missing, builds, and runs the main job: a GStreamer pipeline over the sample clip
# examples/data/vtest.avi (3 s of OpenCV's vtest.avi) that tracks the person at 638,238,48,84 and writes
# build/demo/track.avi (masks, boxes, ids and scores drawn) and build/demo/track.jsonl (per frame: box, polygon,
# score, state and the mask as RLE per target).
#   bash scripts/demo.sh [INPUT.avi|mp4 [x,y,w,h [extra oceanplustrack properties, e.g. model=FILE.pt]]]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh

input=${1:-examples/data/vtest.avi}
box=${2:-638,238,48,84}
shift $(( $# > 2 ? 2 : $# ))
mkdir -p build/demo
# The uninstalled plugin, with a registry of its own; idle OpenMP threads must not spin against the decoder.
export GST_PLUGIN_PATH="$PWD/build/gst/plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
export GST_REGISTRY="$PWD/build/demo/registry.bin"
export OMP_WAIT_POLICY=passive
set -x
gst-launch-1.0 -e \
  uridecodebin uri="file://$(realpath "$input")" ! videoconvert \
  ! oceanplustrack init-box="$box" "$@" \
  ! oceanplusexport location=build/demo/track.jsonl \
  ! oceanplusoverlay ! videoconvert ! jpegenc ! avimux ! filesink location=build/demo/track.avi
set +x
echo "[demo] wrote build/demo/track.avi and build/demo/track.jsonl ($(wc -l < build/demo/track.jsonl) frames)"
