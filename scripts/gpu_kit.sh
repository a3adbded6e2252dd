#!/usr/bin/env bash
# Prepares .gpukit/, what a build on the lent GPU machine needs and that machine cannot fetch (it reaches no
# registry, and has PyTorch, nvcc, meson, ninja and cmake but no OpenCV for C++, gtest, nlohmann-json or pkg-config):
#   - opencv-min.tar.xz: Debian's OpenCV 4.6 source cut down to core, imgproc and imgcodecs (about 3 MB), which
#     scripts/gpu_run.sh builds there in a minute or two;
#   - debs/: Debian bookworm packages unpacked there into a private prefix (never into /): libjpeg, libpng, zlib,
#     gtest, nlohmann-json, pkgconf.
# Run it here (Debian's registry reachable), then name .gpukit in the device tool's `carry`:
#   bash scripts/gpu_kit.sh && <device run> carry=[".gpukit"] command="bash scripts/gpu_run.sh"
set -euo pipefail
cd "$(dirname "$0")/.."
kit=.gpukit
mkdir -p "$kit/debs"

packages=(libjpeg62-turbo libjpeg62-turbo-dev libpng16-16 libpng-dev zlib1g zlib1g-dev libgtest-dev
          nlohmann-json3-dev pkgconf pkgconf-bin libpkgconf3)
(cd "$kit/debs" && apt-get download "${packages[@]}")

if [ ! -f "$kit/opencv-min.tar.xz" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # A private deb-src list: the machine's own sources list binaries only.
  mkdir -p "$work/lists/partial"
  echo "deb-src http://deb.debian.org/debian bookworm main" >"$work/sources.list"
  apt_src=(-o Dir::Etc::SourceList="$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
           -o Dir::State::Lists="$work/lists")
  apt-get "${apt_src[@]}" update >/dev/null
  (cd "$work" && apt-get "${apt_src[@]}" source --download-only opencv >/dev/null)
  tar -xJf "$work"/opencv_*.orig.tar.xz -C "$work"
  src=$(echo "$work"/opencv-4*)
  min="$work/opencv-min"
  mkdir -p "$min/modules" "$min/doc" "$min/data"
  cp -r "$src/CMakeLists.txt" "$src/LICENSE" "$src/cmake" "$src/include" "$src/platforms" "$min/"
  cp "$src/doc/CMakeLists.txt" "$min/doc/"
  cp "$src/data/CMakeLists.txt" "$min/data/"
  for m in core imgproc imgcodecs; do
    cp -r "$src/modules/$m" "$min/modules/"
    rm -rf "$min/modules/$m/test" "$min/modules/$m/perf" "$min/modules/$m/misc" "$min/modules/$m/doc"
  done
  tar -cJf "$kit/opencv-min.tar.xz" -C "$work" opencv-min
fi
du -sh "$kit"
