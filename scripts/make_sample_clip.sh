#!/usr/bin/env bash
# How examples/data/vtest.avi was made (kept for its licence trail; the demo does not run this): the first 30 frames
# (3 s at 10 fps, 768x576) of OpenCV's sample video samples/data/vtest.avi from Debian's opencv-doc 4.6.0
# (/usr/share/doc/opencv-doc/examples/data/vtest.avi; Apache-2.0 AND BSD-3-Clause, see README.md), re-encoded as
# MJPEG (quality 75, 4:2:0) in AVI so that GStreamer's plugins-good alone decode it.
# Needs: opencv-doc, libopencv-dev, g++, gstreamer1.0-plugins-base/-good.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-/usr/share/doc/opencv-doc/examples/data/vtest.avi}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The source is MPEG-4 part 2, which bookworm's GStreamer cannot decode without gstreamer1.0-libav: OpenCV reads it.
cat >"$tmp/raw.cpp" <<'CPP'
#include <opencv2/videoio.hpp>
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
  cv::VideoCapture cap(argv[1]);
  FILE* out = std::fopen(argv[2], "wb");
  cv::Mat f;
  for (int i = 0; i < std::atoi(argv[3]) && cap.read(f); ++i) std::fwrite(f.data, 1, f.total() * 3, out);
  std::fclose(out);
  return 0;
}
CPP
g++ -O1 "$tmp/raw.cpp" -o "$tmp/raw" $(pkg-config --cflags --libs opencv4)
"$tmp/raw" "$src" "$tmp/frames.bgr" 30
gst-launch-1.0 -q filesrc location="$tmp/frames.bgr" \
  ! rawvideoparse width=768 height=576 format=bgr framerate=10/1 ! identity eos-after=31 \
  ! videoconvert ! video/x-raw,format=I420 ! jpegenc quality=75 ! avimux ! filesink location=examples/data/vtest.avi
ls -l examples/data/vtest.avi
