"""Benchmarks of the experiment runner (`faultline run` / `faultline validate`),
against the real Chaos Toolkit where it runs (build/chaosenv), on a release
build (FAULTLINE_BIN, default build/release/src/cli/faultline):

  validate   startup plus validation of a 200-activity experiment, faultline
             and `chaos validate` interleaved, N rounds: medians and ratio
             (target: <= 20 ms);
  schedule   a continuous hypothesis at 10 Hz for --seconds: the largest
             distance of a check's start from its slot t0 + k/10 s
             (target: within 5 ms over a minute);
  fail-fast  the time from the check that deviated to the end of the method
             (a 30 s pause cut short): the after-hypothesis's first probe
             starts then (target: within 50 ms).

Every figure comes from the journals and the wall clock of this one run.
Usage: bench/experiment_bench.py [--rounds 10] [--seconds 60] [--quick]"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAULTLINE = Path(os.environ.get("FAULTLINE_BIN", ROOT / "build" / "release" / "src" / "cli" / "faultline"))
CHAOS = ROOT / "build" / "chaosenv" / "bin" / "chaos"


def experiment_200() -> dict:
    activity = lambda i: {"type": "action" if i % 2 else "probe", "name": f"activity-{i}",
                          "provider": {"type": "process", "path": "true", "arguments": f"--n {i}"},
                          "pauses": {"after": 0}}
    return {"title": "200 activities", "description": "validation benchmark",
            "configuration": {"region": "eu-west-1"},
            "steady-state-hypothesis": {"title": "h", "probes": [
                {"type": "probe", "name": "up", "tolerance": 0,
                 "provider": {"type": "process", "path": "true"}}]},
            "method": [activity(i) for i in range(199)], "rollbacks": [activity(199)]}


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, (cmd, proc.stderr[-2000:])
    return elapsed * 1000


def bench_validate(work: Path, rounds: int) -> dict:
    path = work / "e200.json"
    path.write_text(json.dumps(experiment_200(), indent=1))
    ours, theirs = [], []
    for _ in range(rounds):  # interleaved: both see the same machine
        ours.append(timed([str(FAULTLINE), "validate", str(path)]))
        if CHAOS.exists():
            theirs.append(timed([str(CHAOS), "--no-log-file", "validate", str(path)]))
    out = {"faultline_validate_ms_p50": statistics.median(ours), "faultline_validate_ms_max": max(ours)}
    if theirs:
        out["chaos_validate_ms_p50"] = statistics.median(theirs)
        out["ratio"] = out["chaos_validate_ms_p50"] / out["faultline_validate_ms_p50"]
    return out


def ts(s: str) -> float:
    return datetime.fromisoformat(s).timestamp()


def run(work: Path, experiment: dict, *flags: str) -> dict:
    path = work / "e.json"
    path.write_text(json.dumps(experiment))
    journal = work / "journal.json"
    subprocess.run([str(FAULTLINE), "run", "--journal-path", str(journal), *flags, str(path)],
                   capture_output=True, text=True, timeout=600, env=dict(os.environ, FAULTLINE_BENCH_DIR=str(work)))
    return json.loads(journal.read_text())


def bench_schedule(work: Path, seconds: float) -> dict:
    probe = {"type": "probe", "name": "up", "tolerance": 0, "provider": {"type": "process", "path": "true"}}
    e = {"title": "schedule", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [probe]},
         "method": [{"type": "action", "name": "hold", "provider": {"type": "process", "path": "true"},
                     "pauses": {"after": seconds}}]}
    j = run(work, e, "--hypothesis-strategy=during-method-only", "--hypothesis-frequency=0.1")
    starts = [ts(s["probes"][0]["start"]) for s in j["steady_states"]["during"]]
    t0 = starts[0]
    offsets = [abs(s - (t0 + k * 0.1)) * 1000 for k, s in enumerate(starts)]
    return {"checks": len(starts), "expected_checks": int(seconds * 10) + 1,
            "schedule_error_ms_max": max(offsets), "schedule_error_ms_p50": statistics.median(offsets)}


def bench_fail_fast(work: Path, rounds: int) -> dict:
    marker = work / "up"
    probe = {"type": "probe", "name": "up", "tolerance": 0,
             "provider": {"type": "process", "path": "test", "arguments": f"-f {marker}"}}
    e = {"title": "fail-fast", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [probe]},
         "method": [{"type": "action", "name": "down", "provider": {"type": "process", "path": "rm",
                                                                     "arguments": ["-f", str(marker)]},
                     "pauses": {"before": 0.3, "after": 30}}]}
    latencies = []
    for _ in range(rounds):
        marker.touch()
        j = run(work, e, "--hypothesis-strategy=continuously", "--hypothesis-frequency=0.1", "--fail-fast")
        failed = next(s for s in j["steady_states"]["during"] if not s["steady_state_met"])
        after = j["steady_states"]["after"]["probes"][0]
        latencies.append((ts(after["start"]) - ts(failed["probes"][-1]["end"])) * 1000)
    return {"fail_fast_ms_p50": statistics.median(latencies), "fail_fast_ms_max": max(latencies)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--quick", action="store_true", help="3 rounds, 3 s of schedule: a smoke run")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.seconds = 3, 3
    if not FAULTLINE.exists():
        print(f"experiment_bench: no {FAULTLINE} (build the release preset)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        result = {"date": time.strftime("%Y-%m-%d"), **bench_validate(work, a.rounds),
                  **bench_schedule(work, a.seconds), **bench_fail_fast(work, a.rounds)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
