#!/usr/bin/env bash
# Installs what oceanplus-gst needs on Debian bookworm, and nothing that is already there. Safe to run again.
set -euo pipefail

packages=(
  # toolchain
  g++ meson ninja-build ccache pkg-config python3
  # the tracker core
  libtorch-dev libdnnl-dev libopencv-dev libpng-dev nlohmann-json3-dev
  # an optimised BLAS: Debian's LibTorch calls whichever libblas.so.3 is selected, and the reference BLAS it pulls in
  # by default makes the default model 3x slower (docs/BENCHMARKS.md); installing this one selects it
  libopenblas0-openmp
  # tests
  libgtest-dev
  # the GStreamer plugin
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  libgstrtspserver-1.0-dev
)

say() { printf '[setup] %s\n' "$*"; }

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  say "all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  say "missing packages: ${missing[*]}"
  say "error: not root and no sudo; install them as root: apt-get install ${missing[*]}"
  exit 1
fi

say "missing: ${missing[*]}"
say "apt-get update"
"${sudo[@]}" apt-get update -q >/dev/null
say "apt-get install ${#missing[@]} packages (libtorch-dev alone is about 150 MB installed; this takes a few minutes)"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
say "done"
