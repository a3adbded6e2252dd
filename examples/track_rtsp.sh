#!/usr/bin/env bash
# Tracks one target in a live RTSP camera stream and shows it in a window.
#
#   examples/track_rtsp.sh rtsp://CAMERA/STREAM [X,Y,W,H]
#
# The box (default 638,238,48,84) is in pixels of the decoded frames.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 1 ]; then
  echo "usage: $0 rtsp://CAMERA/STREAM [X,Y,W,H]" >&2
  exit 2
fi
url=$1
box=${2:-638,238,48,84}

if [ -d "$here/../build/gst/plugin" ]; then
  export GST_PLUGIN_PATH="$(cd "$here/../build/gst/plugin" && pwd)${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
fi
export OMP_WAIT_POLICY=passive

# Latency:
# - protocols=tcp: RTP interleaved in the RTSP connection (no UDP loss, works through NAT/firewalls);
#   latency=200: the jitter buffer holds 200 ms (lower it on a clean LAN, raise it over Wi-Fi).
# - The tracker is slower than the camera on a CPU, so the leaky queue before it keeps only the newest frame and
#   drops the older ones (leaky=downstream): the tracker always works on a recent frame instead of an ever-growing
#   backlog. Tracking skips frames, which it tolerates.
# - sync=false: the window shows each frame as soon as it is tracked instead of waiting for its timestamp (which
#   would be late by the tracking time, and be dropped by the sink's QoS). With sync=true, QoS events make upstream
#   elements drop late frames instead.
gst-launch-1.0 \
  rtspsrc location="$url" protocols=tcp latency=200 ! decodebin ! videoconvert ! \
  queue leaky=downstream max-size-buffers=1 ! \
  oceanplustrack init-box="$box" ! \
  videoconvert ! oceanplusoverlay ! videoconvert ! autovideosink sync=false
