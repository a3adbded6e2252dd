#!/usr/bin/env bash
# Tracks one target through a video file: writes the targets as JSON lines and a video with the masks drawn.
#
#   examples/track_file.sh [INPUT] [X,Y,W,H] [OUTPUT]
#
# Defaults: the sample clip examples/data/vtest.avi, the box 638,238,48,84, and out.mp4 (H.264, when x264enc is
# installed) or out.avi (MJPEG, plugins-good only). The targets go to OUTPUT with its extension replaced by .jsonl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# Run from a source checkout: use the plugin in build/ (system plugins stay visible).
if [ -d "$here/../build/gst/plugin" ]; then
  export GST_PLUGIN_PATH="$(cd "$here/../build/gst/plugin" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
# The tracker's OpenMP threads sleep between frames instead of spinning.
export OMP_WAIT_POLICY=passive

if gst-inspect-1.0 x264enc >/dev/null 2>&1; then
  encode=(x264enc tune=zerolatency ! mp4mux)
  default_out=out.mp4
else
  encode=(jpegenc ! avimux)
  default_out=out.avi
fi

input=${1:-$here/data/vtest.avi}
box=${2:-638,238,48,84}
output=${3:-$default_out}
json="${output%.*}.jsonl"

echo "tracking $box in $input -> $output, targets -> $json" >&2
# -e: Ctrl-C sends EOS so the muxer finishes the file. The tracker and the overlay both take packed RGB.
gst-launch-1.0 -e \
  filesrc location="$input" ! decodebin ! videoconvert ! video/x-raw,format=RGB ! \
  oceanplustrack init-box="$box" ! \
  oceanplusexport location="$json" ! \
  oceanplusoverlay ! videoconvert ! \
  "${encode[@]}" ! filesink location="$output"
