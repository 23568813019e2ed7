"""The example experiments (examples/experiments/) run by the real Chaos
Toolkit (`chaos run`, from build/chaosenv) and by `faultline run`, each in a
fresh directory set up the same way: the status, the deviated flag, the exit
code, which activities ran, which probes met their tolerance, and what the
runs left in their directory must be the same.

Skipped, with the reason, where chaostoolkit could not be installed (see
build/test-clients/chaostoolkit.unavailable)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "experiments"
CHAOS = ROOT / "build" / "chaosenv" / "bin" / "chaos"
FAULTLINE = Path(os.environ.get("FAULTLINE_BIN", ROOT / "build" / "dev" / "src" / "cli" / "faultline"))


@dataclass
class Case:
    file: str
    args: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=lambda: ["up"])  # created before the run
    http: bool = False  # serve the directory over HTTP (FAULTLINE_EXAMPLE_URL)


CASES = [
    Case("steady-state-holds.json"),
    Case("service-goes-down.yaml"),
    Case("gate-not-met.json"),
    Case("probe-times-out.json"),
    Case("probe-times-out.json", ["--rollback-strategy", "always"]),
    Case("action-fails.json"),
    Case("every-tolerance.yaml"),
    Case("background-and-refs.json"),
    Case("continuous-fail-fast.json",
         ["--hypothesis-strategy=continuously", "--hypothesis-frequency=0.2", "--fail-fast"]),
    Case("continuous-fail-fast.json",
         ["--hypothesis-strategy=during-method-only", "--hypothesis-frequency=0.2"]),
    Case("service-goes-down.yaml", ["--rollback-strategy", "never"]),
    Case("service-goes-down.yaml", ["--rollback-strategy", "deviated"]),
    Case("steady-state-holds.json", ["--rollback-strategy", "deviated"]),
    Case("service-goes-down.yaml", ["--hypothesis-strategy", "before-method-only"]),
    Case("service-goes-down.yaml", ["--hypothesis-strategy", "after-method-only"]),
    Case("service-goes-down.yaml", ["--dry", "actions"]),
    Case("steady-state-holds.json", ["--dry", "probes"]),
    Case("gate-not-met.json", ["--dry", "activities"]),
    Case("background-and-refs.json", ["--dry", "pause"]),
    Case("steady-state-holds.json", ["--var", "state_dir=/nonexistent-faultline-dir"]),
    Case("http-service.json", http=True),
]


def serve(directory: Path) -> tuple[subprocess.Popen, str]:
    """python3 -m http.server on a free loopback port, serving `directory`."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"],
                            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    port = re.search(r"port (\d+)", line)
    assert port, line
    return proc, f"http://127.0.0.1:{port.group(1)}"


def run(tool: list[str], case: Case, workdir: Path) -> tuple[int, dict, list[str]]:
    workdir.mkdir()
    for name in case.files:
        (workdir / name).touch()
    env = dict(os.environ, FAULTLINE_EXAMPLE_DIR=str(workdir),
               PYTHONPATH=str(EXAMPLES / "probes"))
    server = None
    if case.http:
        server, env["FAULTLINE_EXAMPLE_URL"] = serve(workdir)
    journal = workdir.parent / f"{workdir.name}-journal.json"
    try:
        proc = subprocess.run(tool + ["run", "--journal-path", str(journal), *case.args,
                                      str(EXAMPLES / case.file)],
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        if server:
            server.kill()
            server.wait()
    assert journal.exists(), proc.stderr
    left = sorted(p.name for p in workdir.iterdir())
    return proc.returncode, json.loads(journal.read_text()), left


def summary(journal: dict) -> dict:
    """What must be the same in both journals."""
    def probes(state):
        if state is None:
            return None
        return [(p["activity"].get("name"), p["status"], p.get("tolerance_met"))
                for p in state["probes"]]

    def runs(entries):
        return [(r["activity"].get("name"), r["status"]) for r in entries]

    during = journal["steady_states"]["during"]
    return {
        "status": journal["status"],
        "deviated": journal["deviated"],
        "before": probes(journal["steady_states"]["before"]),
        "after": probes(journal["steady_states"]["after"]),
        "during_deviated": any(s and not s["steady_state_met"] for s in during),
        "run": runs(journal["run"]),
        "rollbacks": runs(journal["rollbacks"]),
    }


def case_id(case: Case) -> str:
    return case.file + ("[" + " ".join(case.args) + "]" if case.args else "")


@pytest.fixture(scope="module")
def chaos():
    if not CHAOS.exists():
        reason = ROOT / "build" / "test-clients" / "chaostoolkit.unavailable"
        pytest.skip(reason.read_text() if reason.exists() else "build/chaosenv has no chaos")
    return [str(CHAOS), "--no-log-file"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_same_verdict_as_chaos(case, chaos, tmp_path):
    chaos_exit, chaos_journal, chaos_left = run(chaos, case, tmp_path / "chaos")
    ours_exit, ours_journal, ours_left = run([str(FAULTLINE)], case, tmp_path / "faultline")
    assert summary(ours_journal) == summary(chaos_journal)
    assert ours_exit == chaos_exit
    assert ours_left == chaos_left
    assert list(ours_journal)[:12] == list(chaos_journal)[:12], "journal keys in chaos's order"
    assert ours_journal["experiment"]["dry"] == chaos_journal["experiment"]["dry"]


def test_fail_on_action_failure_fails_what_chaos_completes(tmp_path):
    code, journal, _ = run([str(FAULTLINE)], Case("action-fails.json", ["--fail-on-action-failure"]),
                           tmp_path / "w")
    assert code == 1
    assert journal["status"] == "failed"
    # exit 7 is not a failure (as chaos); the timeout is, and ends the method.
    assert [(r["activity"]["name"], r["status"]) for r in journal["run"]] == [
        ("exits-7", "succeeded"), ("times-out", "failed")]
    assert "times-out" in journal["faultline"]["reason"]


def test_chaostoolkit_aws_against_the_emulator_as_chaos_runs_it(chaos, tmp_path):
    """chaostoolkit-aws's Lambda actions and probes, unmodified, in both
    tools, each against a fresh emulator (`faultline lambda serve`): the same
    verdict, and the emulator left as it was by the rollbacks."""
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from lambda_it import python_function, start_emulator  # noqa: E402
    venv_python = ROOT / "build" / "pyenv" / "bin" / "python"
    experiment = EXAMPLES / "chaostoolkit-aws-timeout.json"
    outcomes = []
    for name, tool in (("chaos", chaos), ("faultline", [str(FAULTLINE)])):
        emu = start_emulator(tmp_path / f"emu-{name}",
                             [python_function(str(venv_python), "api", "app.handler", timeout=10)])
        try:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
            env.update(emu.env_exports())
            # faultline's python worker is the first python3 on PATH: the
            # one chaostoolkit-aws is installed for.
            env["PATH"] = f"{CHAOS.parent}:{env['PATH']}"
            journal = tmp_path / f"{name}-journal.json"
            proc = subprocess.run(tool + ["run", "--journal-path", str(journal), str(experiment)],
                                  env=env, capture_output=True, text=True, timeout=120)
            assert journal.exists(), proc.stderr
            client = emu.lambda_client()
            after = client.get_function_configuration(FunctionName="api")["Timeout"]
            reserved = client.get_function_concurrency(FunctionName="api").get(
                "ReservedConcurrentExecutions")
            outcomes.append((proc.returncode, summary(json.loads(journal.read_text())), after, reserved))
        finally:
            emu.stop()
    (chaos_exit, chaos_summary, _, _), (ours_exit, ours_summary, timeout, reserved) = outcomes
    assert ours_summary == chaos_summary
    assert ours_exit == chaos_exit == 1
    assert chaos_summary["deviated"] is True
    assert chaos_summary["status"] == "completed"
    assert (timeout, reserved) == (10, None), "the rollbacks put the function back"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("strategy", ["default", "always"])
def test_a_signal_interrupts_as_it_interrupts_chaos(chaos, tmp_path, sig, strategy):
    """A signal in the middle of a 30 s action: interrupted, exit 1, the
    action's process ended, the rollback played only with `always`."""
    outcomes = []
    for name, tool in (("chaos", chaos), ("faultline", [str(FAULTLINE)])):
        work = tmp_path / name
        work.mkdir()
        journal = tmp_path / f"{name}-journal.json"
        proc = subprocess.Popen(tool + ["run", "--journal-path", str(journal), "--rollback-strategy",
                                        strategy, str(EXAMPLES / "interrupted.json")],
                                env=dict(os.environ, FAULTLINE_EXAMPLE_DIR=str(work)),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                "sleep 30" in c for c in _children_cmdlines(proc.pid)):
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        assert journal.exists(), err
        j = json.loads(journal.read_text())
        outcomes.append((proc.returncode, j["status"], j["deviated"],
                         [r["activity"]["name"] for r in j["rollbacks"]],
                         sorted(p.name for p in work.iterdir())))
    assert outcomes[1] == outcomes[0]
    assert outcomes[1][:2] == (1, "interrupted")
    assert outcomes[1][3] == (["note-the-rollback"] if strategy == "always" else [])


def _children_cmdlines(pid: int) -> list[str]:
    """The command lines of `pid`'s descendants (to see the sleep started)."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 2) for line in out.splitlines() if line.strip()]
    kids, frontier = [], {str(pid)}
    while frontier:
        nxt = {r[0] for r in rows if len(r) == 3 and r[1] in frontier}
        kids += [r[2] for r in rows if len(r) == 3 and r[1] in frontier]
        frontier = nxt
    return kids
