#!/usr/bin/env bash
# Plays a video in a window where a left click starts a target around the point and a right click removes the
# targets under it (oceanplustrack's click-to-track; the box side is click-box-size, default a sixth of the frame).
#
#   examples/click_to_track.sh [INPUT]
#
# INPUT defaults to the sample clip examples/data/vtest.avi; give "camera" for /dev/video0 (v4l2src).
# The clicks are navigation events that travel upstream from the video sink, through videoconvert and the overlay,
# to the tracker, so the window must be a sink that sends them (xvimagesink, ximagesink, glimagesink, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ -d "$here/../build/gst/plugin" ]; then
  export GST_PLUGIN_PATH="$(cd "$here/../build/gst/plugin" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
export OMP_WAIT_POLICY=passive

input=${1:-$here/data/vtest.avi}
if [ "$input" = camera ]; then
  source=(v4l2src)
else
  source=(filesrc location="$input" ! decodebin)
fi
if gst-inspect-1.0 xvimagesink >/dev/null 2>&1; then sink=xvimagesink; else sink=autovideosink; fi

# The leaky queue lets the window keep up while the tracker works on the newest frame.
gst-launch-1.0 \
  "${source[@]}" ! videoconvert ! queue leaky=downstream max-size-buffers=1 ! \
  oceanplustrack click-to-track=true ! \
  videoconvert ! oceanplusoverlay ! videoconvert ! $sink
