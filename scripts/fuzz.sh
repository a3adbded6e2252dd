#!/usr/bin/env bash
# Fuzzes the legacy .pth checkpoint reader with libFuzzer (needs clang: apt-get install clang).
#   bash scripts/fuzz.sh [seconds]     (default 120)
# Seeds: the golden legacy sample (when ../shared is present) and tests/data/legacy/*.pth. Crashes land in
# build/fuzz/crashes/. CI replays a fixed-seed mutation corpus instead (test LegacyPthFuzz.*).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ not found (apt-get install clang)"; exit 1; }
mkdir -p build/fuzz/corpus build/fuzz/crashes
cp tests/data/legacy/*.pth build/fuzz/corpus/
[ -f ../shared/golden/oceanplus/legacy_ckpt_sample.pth ] && cp ../shared/golden/oceanplus/legacy_ckpt_sample.pth build/fuzz/corpus/
clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
  src/io/legacy_pth.cpp tests/fuzz/fuzz_legacy_pth.cpp -o build/fuzz/fuzz_legacy_pth
build/fuzz/fuzz_legacy_pth build/fuzz/corpus -artifact_prefix=build/fuzz/crashes/ -max_total_time="$seconds" \
  -max_len=200000 -rss_limit_mb=2048
