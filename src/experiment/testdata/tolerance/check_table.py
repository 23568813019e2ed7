#!/usr/bin/env python3
"""Checks the verdicts of tolerance_test.cc's kTable against the real
chaoslib: runs chaoslib.hypothesis.within_tolerance on every row and
prints the rows whose verdict differs.

    /tmp/ctk/bin/python check_table.py ../../tolerance_test.cc

A string tolerance is substituted first, as run_steady_state_hypothesis
does; None counts as not met; an exception as kError.
"""
import json
import logging
import re
import sys

from chaoslib import substitute
from chaoslib.hypothesis import within_tolerance

CONFIGURATION = {"expected": 200, "word": "ok", "pat": "^o", "jp": "$.a"}
ROW = re.compile(r'^\s*\{R"j\((.*)\)j", R"j\((.*)\)j", (kMet|kNotMet|kError)\},$')


def verdict(tolerance, value):
    if isinstance(tolerance, str):
        tolerance = substitute(tolerance, CONFIGURATION, None)
    try:
        met = within_tolerance(tolerance, value, configuration=CONFIGURATION, secrets=None)
    except Exception:  # noqa: BLE001 -- any exception is an error verdict
        return "kError"
    return "kMet" if met else "kNotMet"


def main(path):
    logging.disable(logging.CRITICAL)
    rows = bad = 0
    for line in open(path, encoding="utf-8"):
        m = ROW.match(line)
        if not m:
            continue
        rows += 1
        tolerance, value = json.loads(m.group(1)), json.loads(m.group(2))
        got = verdict(tolerance, value)
        if got != m.group(3):
            bad += 1
            print(f"chaoslib says {got}, table says {m.group(3)}: {line.strip()}")
    print(f"{rows} rows, {bad} differ")
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
