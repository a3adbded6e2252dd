#!/usr/bin/env bash
# Configures (once) and builds oceanplus-gst in ./build. Extra arguments go to `meson setup` on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# ccache: one cache for every clone of the project (CI builds in a fresh clone at another path).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=true CCACHE_SLOPPINESS=pch_defines,time_macros

# nvcc lives outside PATH on Debian machines with the CUDA toolkit; meson finds it through NVCC.
if [ -z "${NVCC:-}" ] && ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export NVCC=/usr/local/cuda/bin/nvcc
fi

if [ ! -f build/build.ninja ]; then
  echo "[build] meson setup build $*"
  log=$(mktemp)
  meson setup build --buildtype=release "$@" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; exit 1; }
  grep -E 'Message:' "$log" || true
  rm -f "$log"
fi
echo "[build] ninja -C build (torch translation units take a minute each on 2 cores; ccache makes rebuilds fast)"
ninja -C build
