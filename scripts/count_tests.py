#!/usr/bin/env python3
"""Counts gtest results from the XML reports meson leaves at the top of the build folder and prints 'N skipped', then 'N passed, N failed' as the last line (CI reads it).

A test binary that crashed before writing its report counts as one failure (from meson's testlog.json)."""
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

build = Path(sys.argv[1] if len(sys.argv) > 1 else "build")
passed = failed = skipped = 0
reported = set()
for xml in sorted(build.glob("*.xml")):  # one report per test binary (not meson-logs/)
    try:
        root = ET.parse(xml).getroot()
    except ET.ParseError:
        continue
    if root.tag != "testsuites":
        continue
    reported.add(xml.stem)
    for case in root.iter("testcase"):
        if case.find("failure") is not None:
            failed += 1
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1

log = build / "meson-logs" / "testlog.json"
if log.exists():
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        name = entry.get("name", "")
        if entry.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and name not in reported:
            failed += 1  # crashed or timed out without a report
            print(f"test binary {name}: {entry.get('result')} without a gtest report")

print(f"{skipped} skipped (their data or hardware is absent: each says why in the log)")
print(f"{passed} passed, {failed} failed")  # the last line: CI reads it
sys.exit(1 if failed else 0)
