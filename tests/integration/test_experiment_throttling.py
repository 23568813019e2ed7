"""DESIGN.md scenario 4 with `faultline run` against the emulator:
examples/experiments/concurrency-throttling.json under load on a real
function's URL (awslambdaric), reserved concurrency 1 set through the
faultline provider. The continuous hypothesis with --fail-fast, and the stop
condition without it, each end the method; the rollback restores the
concurrency; a run killed with -9 leaves its change in the state file and
`faultline rollback` puts it back."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from lambda_it import faultline_bin, python_function

EXPERIMENT = Path(__file__).resolve().parents[2] / "examples" / "experiments" / "concurrency-throttling.json"


def function_url(emu) -> str:
    out = emu.aws("create-function-url-config", "--function-name", "api", "--auth-type", "NONE")
    return json.loads(out.stdout)["FunctionUrl"]


def run_env(emu, url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(emu.env_exports())
    env["FAULTLINE_EXAMPLE_FUNCTION_URL"] = url
    return env


def reserved(emu) -> int | None:
    out = json.loads(emu.aws("get-function-concurrency", "--function-name", "api").stdout or "{}")
    return out.get("ReservedConcurrentExecutions")


def run(emu, url, tmp_path, *flags, experiment=EXPERIMENT, timeout=120):
    journal, state = tmp_path / "journal.json", tmp_path / "state.jsonl"
    proc = subprocess.run([str(faultline_bin()), "run", "--journal-path", str(journal),
                           "--state-path", str(state), *flags, str(experiment)],
                          env=run_env(emu, url), capture_output=True, text=True, timeout=timeout)
    assert journal.exists(), proc.stderr
    return proc, json.loads(journal.read_text()), state


def names(entries) -> list[str]:
    return [e["activity"]["name"] for e in entries]


def test_fail_fast_ends_the_method_and_the_rollback_restores_concurrency(emulator, python_ric, tmp_path):
    emu = emulator([python_function(python_ric, "api", "app.sleep", timeout=10)])
    url = function_url(emu)
    # The stop condition (50 throttles) would usually fire first: without it,
    # fail-fast alone ends the method.
    experiment = json.loads(EXPERIMENT.read_text())
    experiment.pop("x-faultline")
    path = tmp_path / "fail-fast.json"
    path.write_text(json.dumps(experiment))
    proc, journal, state = run(emu, url, tmp_path, "--hypothesis-strategy=continuously",
                               "--hypothesis-frequency=0.5", "--fail-fast", experiment=path)
    assert proc.returncode == 1, proc.stderr
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert any(not s["steady_state_met"] for s in journal["steady_states"]["during"])
    # Deviated after the method too (throttles counted), as chaos decides.
    assert journal["status"] == "completed" and journal["deviated"] is True
    assert "metrics-at-the-end-of-the-method" not in names(journal["run"]), "fail-fast skipped it"
    assert [(r["activity"]["name"], r["status"]) for r in journal["rollbacks"]] == [
        ("delete-the-reservation", "succeeded")]
    assert reserved(emu) is None
    assert not state.exists(), "everything was put back: no state file left"


def test_the_stop_condition_aborts_the_run_and_the_rollback_still_runs(emulator, python_ric, tmp_path):
    emu = emulator([python_function(python_ric, "api", "app.sleep", timeout=10)])
    url = function_url(emu)
    proc, journal, state = run(emu, url, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert journal["status"] == "aborted", journal["faultline"]
    assert "throttles-stay-under-50" in journal["faultline"]["reason"]
    checks = journal["faultline"]["stop_conditions"]
    assert checks[-1]["tolerance_met"] is False and all(c["tolerance_met"] for c in checks[:-1])
    assert checks[-1]["output"]["Throttles"] >= 50
    assert journal["steady_states"]["after"] is None
    load = next(r for r in journal["run"] if r["activity"]["name"] == "load-for-the-length-of-the-method")
    assert load["status"] == "failed", "the background load was ended with the method"
    assert names(journal["rollbacks"]) == ["delete-the-reservation"]
    assert reserved(emu) is None
    assert not state.exists()


def test_kill_9_then_faultline_rollback_leaves_nothing_changed(emulator, python_ric, tmp_path):
    emu = emulator([python_function(python_ric, "api", "app.sleep", timeout=10)])
    url = function_url(emu)
    experiment = json.loads(EXPERIMENT.read_text())
    experiment.pop("x-faultline")
    experiment.pop("steady-state-hypothesis")
    experiment["method"] = [a for a in experiment["method"] if not a.get("background")]
    experiment["method"][0]["pauses"] = {"after": 60}
    path = tmp_path / "held.json"
    path.write_text(json.dumps(experiment))
    state = tmp_path / "state.jsonl"
    proc = subprocess.Popen([str(faultline_bin()), "run", "--journal-path", str(tmp_path / "j.json"),
                             "--state-path", str(state), str(path)],
                            env=run_env(emu, url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and reserved(emu) != 1:
            time.sleep(0.1)
        assert reserved(emu) == 1, "the run reserved a concurrency of 1"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert reserved(emu) == 1, "killed with -9: nothing was put back"
    assert "put-function-concurrency" in state.read_text() or "concurrency" in state.read_text()
    rb = subprocess.run([str(faultline_bin()), "rollback", str(state)], env=run_env(emu, url),
                        capture_output=True, text=True, timeout=60)
    assert rb.returncode == 0, rb.stderr
    assert "undone" in rb.stdout
    assert reserved(emu) is None
    assert not state.exists()
    again = subprocess.run([str(faultline_bin()), "rollback", str(state)], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "nothing to roll back" in again.stdout
