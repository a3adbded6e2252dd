#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test. Ends with the line "N passed, N failed",
# counted from the gtest XML reports of the test binaries.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh || exit 1
bash scripts/build.sh || exit 1

# meson runs each gtest binary with --gtest_output=xml:build/<test name>.xml (protocol: gtest); clear old reports.
rm -f build/*.xml
meson test -C build --print-errorlogs --num-processes 1
meson_status=$?

python3 scripts/count_tests.py build
count_status=$?
[ $meson_status -eq 0 ] && [ $count_status -eq 0 ]
